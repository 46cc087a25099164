import { generate } from '../eval/generate';
import { responseOf } from '../eval/answers';
import type { CausalLM } from '../models/causal-lm';
import type { TextTokenizer } from '../tokenizers/text-tokenizer';

/** One evaluated sample, as LoNAS writes it to <dataset>.res.json. */
export interface SampleResult {
  instruction: string;
  answer: string;
  output_pred: string;
  pred: string;
  flag: boolean;
}

export interface GenerationSettings {
  maxNewTokens: number;
  numBeams: number;
  /** Prompts generated together (left-padded). */
  batchSize: number;
}

/**
 * Accuracy by generation: each prompt is continued (beam search, as LoNAS's
 * GenerationConfig(num_beams=4)), the text after "### Response:" is judged by `judge`.
 */
export async function generationAccuracy(
  model: CausalLM,
  tokenizer: TextTokenizer,
  samples: Array<{ prompt: string; instruction: string; answer: string }>,
  judge: (response: string, answer: string) => { pred: string; correct: boolean },
  settings: GenerationSettings,
): Promise<{ accuracy: number; results: SampleResult[] }> {
  const results: SampleResult[] = [];
  for (let start = 0; start < samples.length; start += settings.batchSize) {
    const batch = samples.slice(start, start + settings.batchSize);
    const prompts = batch.map((s) => tokenizer.addSpecialTokens(tokenizer.tokenize(s.prompt)).ids);
    const limit = model.config.maxPositions - settings.maxNewTokens;
    const { sequences } = await generate(
      model,
      prompts.map((p) => p.slice(Math.max(0, p.length - limit))),
      { maxNewTokens: settings.maxNewTokens, numBeams: settings.numBeams },
    );
    batch.forEach((sample, i) => {
      const output = responseOf(sample.prompt + tokenizer.decode(sequences[i], { skipSpecialTokens: true }));
      const { pred, correct } = judge(output, sample.answer);
      results.push({
        instruction: sample.instruction,
        answer: sample.answer,
        output_pred: output,
        pred,
        flag: correct,
      });
    });
  }
  const correct = results.filter((r) => r.flag).length;
  return { accuracy: results.length === 0 ? 0 : correct / results.length, results };
}
