import * as fs from 'fs';
import { readTextFile } from '../data/text-file';
import type { TextTaskConfig } from './task-config';
import type { Example } from '../train/batches';
import { ExperimentError } from '../util/experiment-error';
import type { Task } from './task';

/**
 * Training on plain records (`lonas train`): strings, or {text, text_pair, label} for a
 * classifier, each tokenized with the model's special tokens and cut to `maxSeqLength`. It has
 * no test sets and no validation set.
 */
export function textTask(config: TextTaskConfig): Task {
  return {
    name: 'text',
    identity: config,
    shape: { tokens: config.maxSeqLength, beams: 1 },
    validate(phases) {
      if (!fs.existsSync(config.trainFile)) throw new ExperimentError(`${config.trainFile}: no such training file`);
      readTextFile(config.trainFile);
      if (phases.eval || phases.test || phases.search) {
        throw new ExperimentError('plain text training has no evaluation, test or search');
      }
    },
    bind({ tokenizer, loaded }) {
      return {
        // BERT's pooler reads the first position: a classifier's batches pad on the right.
        paddingSide: loaded.kind === 'causal-lm' ? 'left' : 'right',
        trainingExamples: (): Example[] =>
          readTextFile(config.trainFile).map((r) => {
            const { ids, typeIds } = tokenizer.addSpecialTokens(
              tokenizer.tokenize(r.text),
              r.textPair === undefined ? undefined : tokenizer.tokenize(r.textPair),
            );
            return {
              inputIds: ids.slice(0, config.maxSeqLength),
              tokenTypeIds: typeIds.slice(0, config.maxSeqLength),
              label: r.label,
            };
          }),
      };
    },
  };
}
