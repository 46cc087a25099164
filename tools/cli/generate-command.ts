import * as fs from 'fs';
import * as path from 'path';
import { selectBackend } from '../../src/backend';
import { generate } from '../../src/eval/generate';
import { loadCausalLM } from '../../src/models/registry';
import { loadTokenizer } from '../../src/tokenizers/load-tokenizer';
import { parseFlags, UsageError, type Command } from './command';

const usage = `usage: lonas generate --model <HF folder | llama2.c .bin> [options]

  --model PATH          a Hugging Face model folder (config.json + safetensors) or a llama2.c .bin
  --tokenizer PATH      tokenizer.json, vocab.txt or llama2.c tokenizer .bin (default: the model
                        folder's tokenizer, or tokenizer.bin beside a .bin checkpoint)
  --prompt TEXT         text to continue (default: empty, i.e. only the BOS token)
  --max_new_tokens N    how many tokens to generate at most (default 32)
  --num_beams N         1 for greedy decoding, more for beam search (default 1)
  --json                print {"ids": [...], "text": "..."} instead of the text
  --backend NAME        tensorflow, webgpu, wasm, cpu or auto (default: $LONAS_BACKEND, else auto)`;

function positiveInteger(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

/** The tokenizer beside a checkpoint when none is named. */
function defaultTokenizer(model: string): string {
  if (fs.statSync(model).isDirectory()) return model;
  const beside = path.join(path.dirname(model), 'tokenizer.bin');
  if (!fs.existsSync(beside))
    throw new UsageError(`${model} is a llama2.c checkpoint: name its tokenizer with --tokenizer`);
  return beside;
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'continue a prompt with a model (greedy or beam search)',
  usage,
  async run(args) {
    const values = parseFlags(args, {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      prompt: { type: 'string', default: '' },
      max_new_tokens: { type: 'string' },
      num_beams: { type: 'string' },
      json: { type: 'boolean', default: false },
      backend: { type: 'string' },
    });
    if (values.model === undefined) throw new UsageError('--model is required');
    const maxNewTokens = positiveInteger(values.max_new_tokens, '--max_new_tokens', 32);
    const numBeams = positiveInteger(values.num_beams, '--num_beams', 1);
    await selectBackend({ requested: values.backend });
    const model = loadCausalLM(values.model);
    const tokenizer = loadTokenizer(values.tokenizer ?? defaultTokenizer(values.model), {
      vocabSize: model.config.vocabSize,
    });
    const prompt = tokenizer.addSpecialTokens(tokenizer.tokenize(values.prompt)).ids;
    const outside = prompt.find((id) => id >= model.config.vocabSize);
    if (outside !== undefined) {
      throw new UsageError(
        `the tokenizer gives id ${outside}, outside the model's ${model.config.vocabSize}-token vocabulary`,
      );
    }
    if (prompt.length + maxNewTokens > model.config.maxPositions) {
      throw new UsageError(
        `the prompt's ${prompt.length} tokens plus --max_new_tokens ${maxNewTokens} exceed the model's ${model.config.maxPositions} positions`,
      );
    }
    const tokenizerEos = tokenizer.eosTokenId === undefined ? [] : [tokenizer.eosTokenId];
    const { sequences } = await generate(model, [prompt], {
      maxNewTokens,
      numBeams,
      eosTokenIds: model.config.eosTokenIds.length > 0 ? model.config.eosTokenIds : tokenizerEos,
    });
    const ids = sequences[0];
    const text = tokenizer.decode(ids, { skipSpecialTokens: true });
    process.stdout.write(values.json ? `${JSON.stringify({ ids, text })}\n` : `${values.prompt}${text}\n`);
    model.dispose();
    return 0;
  },
};
