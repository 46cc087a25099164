import type { CausalLM } from '../models/causal-lm';
import type { Decoding, DecodeStep } from '../models/decoding';
import { tensorDecoding } from './tensor-decoding';

export interface GenerationOptions {
  maxNewTokens: number;
  /** 1: greedy; more: beam search (Hugging Face semantics, no sampling). */
  numBeams?: number;
  /** Tokens that end a sequence; default: the model's. */
  eosTokenIds?: number[];
  /** Fills prompts on the left and finished rows; default: the model's pad token, else 0. */
  padTokenId?: number;
  /** Beam scores are sum(log p) / length^lengthPenalty (default 1). */
  lengthPenalty?: number;
  /**
   * Decode on host arrays where the model and backend allow it (default true): the forward's
   * operations in its order (norms, attention and log-softmax summed in double), without a tfjs
   * kernel call per operation. False: always through the tfjs forward.
   */
  hostDecoding?: boolean;
}

export interface GenerationResult {
  /** Per prompt, the generated ids (an ending EOS included), without the prompt. */
  sequences: number[][];
  /** Per prompt, the sequence score: total log-probability, divided by length^penalty for beams. */
  scores: number[];
}

/** Left-padded prompts, their mask, and positions that count only real tokens. */
function promptStep(prompts: number[][], padId: number): DecodeStep {
  const width = Math.max(...prompts.map((p) => p.length));
  const tokens = prompts.map((p) => [...new Array<number>(width - p.length).fill(padId), ...p]);
  const mask = prompts.map((p) => [...new Array<number>(width - p.length).fill(0), ...p.map(() => 1)]);
  const positions = mask.map((row) => {
    let seen = 0;
    return row.map((real) => (real ? seen++ : 0));
  });
  return { tokens, mask, positions };
}

function nextStep(previous: DecodeStep, tokens: number[], rowOrder?: number[]): DecodeStep {
  const order = rowOrder ?? tokens.map((_, i) => i);
  return {
    tokens: tokens.map((t) => [t]),
    mask: order.map((row) => [...previous.mask[row], 1]),
    positions: order.map((row) => [previous.positions[row][previous.positions[row].length - 1] + 1]),
  };
}

/**
 * Host decoding where the model offers it for the current backend (unless turned off), else
 * the model's tfjs forward; `capacity` bounds the positions a row will hold.
 */
function openDecoding(model: CausalLM, rows: number, capacity: number, host: boolean): Decoding {
  return (host ? model.hostDecoding?.(rows, capacity) : undefined) ?? tensorDecoding(model);
}

/** The step's log-probabilities, [rows, vocab] flat, checked against the vocabulary's size. */
async function nextLogProbs(decoding: Decoding, step: DecodeStep, vocab: number): Promise<Float32Array> {
  const values = await decoding.next(step);
  if (values.length !== step.tokens.length * vocab) {
    throw new Error(
      `generate: the model gave ${values.length} log-probabilities, not ${step.tokens.length} x ${vocab}`,
    );
  }
  return values;
}

async function greedy(
  decoding: Decoding,
  prompts: number[][],
  options: { maxNewTokens: number; vocab: number; eos: Set<number>; padId: number },
) {
  const { maxNewTokens, vocab, eos, padId } = options;
  const sequences = prompts.map((): number[] => []);
  const scores = prompts.map(() => 0);
  const finished = prompts.map(() => false);
  let step = promptStep(prompts, padId);
  for (let t = 0; t < maxNewTokens && finished.includes(false); t++) {
    const values = await nextLogProbs(decoding, step, vocab);
    const chosen = sequences.map((sequence, i) => {
      if (finished[i]) return padId;
      const row = i * vocab;
      let best = 0;
      for (let v = 1; v < vocab; v++) if (values[row + v] > values[row + best]) best = v;
      sequence.push(best);
      scores[i] += values[row + best];
      if (eos.has(best)) finished[i] = true;
      return best;
    });
    step = nextStep(step, chosen);
  }
  return { sequences, scores };
}

interface Hypothesis {
  tokens: number[];
  score: number;
}

/** The finished hypotheses of one prompt, best `numBeams` kept (transformers' BeamHypotheses). */
class FinishedBeams {
  readonly kept: Hypothesis[] = [];

  constructor(
    private readonly numBeams: number,
    private readonly lengthPenalty: number,
  ) {}

  add(tokens: number[], sumLogProbs: number, length: number): void {
    const score = sumLogProbs / length ** this.lengthPenalty;
    this.kept.push({ tokens, score });
    this.kept.sort((a, b) => b.score - a.score);
    if (this.kept.length > this.numBeams) this.kept.pop();
  }

  /** No running beam can still beat the worst kept hypothesis (early_stopping=False). */
  isDone(bestRunningSum: number, length: number): boolean {
    if (this.kept.length < this.numBeams) return false;
    return this.kept[this.kept.length - 1].score >= bestRunningSum / length ** this.lengthPenalty;
  }
}

/**
 * The `k` best continuations of `live` beams (their rows of `logProbs` [rows, vocab] and running
 * scores), best first; equal scores keep beam-then-token order (what a stable sort of every
 * candidate gives), without building or sorting them all.
 */
function best(
  k: number,
  live: Array<{ row: number; score: number }>,
  logProbs: Float32Array,
  vocab: number,
): Array<{ row: number; token: number; score: number }> {
  const kept: Array<{ row: number; token: number; score: number }> = [];
  for (const { row, score } of live) {
    for (let token = 0; token < vocab; token++) {
      const value = score + logProbs[row * vocab + token];
      if (kept.length === k && value <= kept[k - 1].score) continue;
      let at = kept.length;
      while (at > 0 && kept[at - 1].score < value) at--;
      kept.splice(at, 0, { row, token, score: value });
      if (kept.length > k) kept.pop();
    }
  }
  return kept;
}

async function beamSearch(
  decoding: Decoding,
  prompts: number[][],
  options: {
    maxNewTokens: number;
    vocab: number;
    numBeams: number;
    eos: Set<number>;
    padId: number;
    lengthPenalty: number;
  },
) {
  const { maxNewTokens, vocab, numBeams, eos, padId, lengthPenalty } = options;
  // Each prompt is fed once; its first step's best continuations then become its beams.
  let step = promptStep(prompts, padId);
  let rowsPerPrompt = 1;
  // Lengths count the prompt, as transformers 4.31 (the version LoNAS pins) does.
  const promptLength = prompts.map((p) => p.length);
  const beams = prompts.map((): number[] => []);
  let beamScores: number[] = prompts.map(() => 0);
  const finished = prompts.map(() => new FinishedBeams(numBeams, lengthPenalty));
  const done = prompts.map(() => false);
  for (let t = 0; t < maxNewTokens && done.includes(false); t++) {
    const logProbs = await nextLogProbs(decoding, step, vocab);
    const nextRows: number[] = [];
    const nextTokens: number[] = [];
    const nextScores: number[] = [];
    const nextBeams: number[][] = [];
    prompts.forEach((_, b) => {
      const rows = Array.from({ length: rowsPerPrompt }, (_, j) => b * rowsPerPrompt + j);
      if (done[b]) {
        for (const row of rows) {
          nextRows.push(row);
          nextTokens.push(padId);
          nextScores.push(0);
          nextBeams.push(beams[row]);
        }
        return;
      }
      // At first a prompt's one row stands for numBeams beams of which only the first is live, as
      // transformers starts them, so the first step does not pick copies.
      const live =
        rowsPerPrompt === 1
          ? Array.from({ length: numBeams }, (_, j) => ({ row: b, score: j === 0 ? 0 : -1e9 }))
          : rows.map((row) => ({ row, score: beamScores[row] }));
      // The 2 x numBeams best continuations of the prompt's beams, as transformers' topk takes them.
      const candidates = best(2 * numBeams, live, logProbs, vocab);
      const chosen: typeof candidates = [];
      for (const [rank, candidate] of candidates.entries()) {
        if (eos.has(candidate.token)) {
          // An EOS below the top numBeams does not finish a hypothesis (transformers' rule).
          if (rank < numBeams) {
            const tokens = [...beams[candidate.row], candidate.token];
            finished[b].add(tokens, candidate.score, promptLength[b] + beams[candidate.row].length);
          }
        } else {
          chosen.push(candidate);
        }
        if (chosen.length === numBeams) break;
      }
      if (chosen.length < numBeams) {
        // transformers refuses this too: the prompt would have fewer beams than its rows.
        throw new Error(
          `generate: ${2 * numBeams} candidates hold fewer than ${numBeams} that do not end the sequence; ` +
            'use fewer beams or fewer end tokens',
        );
      }
      for (const candidate of chosen) {
        nextRows.push(candidate.row);
        nextTokens.push(candidate.token);
        nextScores.push(candidate.score);
        nextBeams.push([...beams[candidate.row], candidate.token]);
      }
      done[b] = finished[b].isDone(candidates[0].score, promptLength[b] + beams[rows[0]].length);
    });
    decoding.reorder(nextRows);
    beams.splice(0, beams.length, ...nextBeams);
    beamScores = nextScores;
    step = nextStep(step, nextTokens, nextRows);
    rowsPerPrompt = numBeams;
  }
  const sequences: number[][] = [];
  const scores: number[] = [];
  prompts.forEach((_, b) => {
    if (!done[b]) {
      for (let j = 0; j < rowsPerPrompt; j++) {
        const row = b * rowsPerPrompt + j;
        finished[b].add(beams[row], beamScores[row], promptLength[b] + beams[row].length);
      }
    }
    const best = finished[b].kept[0];
    sequences.push(best.tokens);
    scores.push(best.score);
  });
  return { sequences, scores };
}

/**
 * Generates continuations of a batch of prompts (token ids), left-padded into one batch, with a
 * key/value cache so each step runs only the new tokens.
 */
export async function generate(
  model: CausalLM,
  prompts: number[][],
  options: GenerationOptions,
): Promise<GenerationResult> {
  if (prompts.length === 0) return { sequences: [], scores: [] };
  if (prompts.some((p) => p.length === 0)) throw new Error('generate: every prompt needs at least one token');
  const numBeams = options.numBeams ?? 1;
  if (!Number.isInteger(numBeams) || numBeams < 1)
    throw new Error(`generate: num_beams must be a positive integer, got ${numBeams}`);
  const eos = new Set(options.eosTokenIds ?? model.config.eosTokenIds);
  const padId = options.padTokenId ?? model.config.padTokenId ?? 0;
  const longest = Math.max(...prompts.map((p) => p.length));
  if (longest + options.maxNewTokens > model.config.maxPositions) {
    throw new Error(
      `generate: a ${longest}-token prompt plus ${options.maxNewTokens} new tokens exceeds the model's ` +
        `${model.config.maxPositions} positions`,
    );
  }
  const rows = prompts.length * numBeams;
  const decoding = openDecoding(model, rows, longest + options.maxNewTokens, options.hostDecoding ?? true);
  const settings = { maxNewTokens: options.maxNewTokens, vocab: model.config.vocabSize, eos, padId };
  try {
    if (numBeams === 1) return await greedy(decoding, prompts, settings);
    return await beamSearch(decoding, prompts, { ...settings, numBeams, lengthPenalty: options.lengthPenalty ?? 1 });
  } finally {
    decoding.dispose();
  }
}
