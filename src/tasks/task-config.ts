import { withDefaults } from '../util/with-defaults';
import { commonsenseTask, mathTask } from './tasks';

/** LoNAS's commonsense or math task: LLM-Adapters JSON, generation, answer extraction. */
export interface LlmTaskConfig {
  kind: 'commonsense' | 'math';
  /** The training JSON (`instruction`, `input`, `output`, `answer`); needed to train or search. */
  datasetPath?: string;
  /** Training records held out (seeded shuffle) as the search's validation set. */
  valSetSize: number;
  /** Test sets as `<datasetsDir>/<name>/test.json`. */
  datasetsDir: string;
  /** Which test sets (default: the task's, those present). */
  testDatasets?: string[];
  maxTrainSamples?: number;
  maxTestSamples?: number;
  /** Training tokens per example. */
  cutoffLen: number;
  trainOnInputs: boolean;
  numBeams: number;
  maxNewTokens: number;
}

/** A GLUE task with BERT: the task's TSV folder. */
export interface GlueTaskConfig {
  kind: 'glue';
  /** rte, mrpc, stsb, cola, sst2, qnli, qqp or mnli. */
  taskName: string;
  /** The folder with train.tsv and dev.tsv (MNLI: dev_matched.tsv, dev_mismatched.tsv). */
  datasetPath: string;
  maxSeqLength: number;
  maxTrainSamples?: number;
  maxTestSamples?: number;
}

/** Plain training records (`lonas train`): strings or {text, text_pair, label}. */
export interface TextTaskConfig {
  kind: 'text';
  trainFile: string;
  maxSeqLength: number;
}

export type TaskConfig = LlmTaskConfig | GlueTaskConfig | TextTaskConfig;

/** A task config as a script writes it: the kind and its files; every other field has LoNAS's default. */
export type TaskSettings =
  | (Partial<Omit<LlmTaskConfig, 'kind'>> & { kind: LlmTaskConfig['kind'] })
  | (Partial<Omit<GlueTaskConfig, 'kind' | 'taskName' | 'datasetPath'>> &
      Pick<GlueTaskConfig, 'kind' | 'taskName' | 'datasetPath'>)
  | (Partial<Omit<TextTaskConfig, 'kind' | 'trainFile'>> & Pick<TextTaskConfig, 'kind' | 'trainFile'>);

/**
 * A task config with the official scripts' defaults filled in: run_commonsense.py's and
 * run_math.py's argparse (val_set_size 120 and 0, cutoff_len 256, num_beams 4, the family's
 * generation length, test sets under datasets/) and run_glue.py's max_seq_length 128.
 */
export function taskConfig(settings: TaskSettings): TaskConfig {
  switch (settings.kind) {
    case 'glue':
      return withDefaults({ maxSeqLength: 128 }, settings);
    case 'text':
      return withDefaults({ maxSeqLength: 256 }, settings);
    default:
      return withDefaults(
        {
          valSetSize: settings.kind === 'commonsense' ? 120 : 0,
          datasetsDir: 'datasets',
          cutoffLen: 256,
          trainOnInputs: true,
          numBeams: 4,
          maxNewTokens: (settings.kind === 'math' ? mathTask : commonsenseTask).maxNewTokens,
        },
        settings,
      );
  }
}
