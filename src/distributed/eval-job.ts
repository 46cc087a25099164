import * as t from 'io-ts';
import { decode } from '../config/decode';
import type { SubnetConfig } from '../nas/search-space';

/** The queue searches and workers meet on unless told otherwise. */
export const DEFAULT_EVAL_QUEUE = 'lonas-eval';
/** The BullMQ job name of a candidate evaluation. */
export const EVALUATE_JOB = 'evaluate';

/** A candidate to score: the search setup it belongs to (see eval-setup.ts), its cache key and its subnet. */
export interface EvalJobData {
  setup: string;
  key: string;
  subnet: SubnetConfig;
}

/** What a worker returns: the objective, the MACs (millions) its model counts, and who it is. */
export interface EvalJobResult {
  accuracy: number;
  macs: number;
  worker: string;
}

const EvalJobDataJson = t.type({
  setup: t.refinement(t.string, (s) => /^[0-9a-f]{64}$/.test(s), 'a SHA-256 in hex'),
  key: t.string,
  subnet: t.record(
    t.refinement(t.string, (k) => /^\d+$/.test(k), 'a group index'),
    t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0, 'a width (an integer >= 0)'),
  ),
});

const EvalJobResultJson = t.type({ accuracy: t.number, macs: t.number, worker: t.string });

/** A job's data, checked: a malformed job is an error naming the job and each bad field. */
export function decodeJobData(data: unknown, jobId: string | undefined): EvalJobData {
  const decoded = decode(EvalJobDataJson, data, `job ${jobId ?? '(no id)'}`);
  return { ...decoded, subnet: Object.fromEntries(Object.entries(decoded.subnet).map(([k, v]) => [Number(k), v])) };
}

/** A job's return value (BullMQ hands it over as JSON text or parsed), checked. */
export function decodeJobResult(value: unknown, jobId: string): EvalJobResult {
  const parsed = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  return decode(EvalJobResultJson, parsed, `the result of job ${jobId}`);
}

/**
 * The job id of a candidate: one per (setup, genes), so a candidate enqueued again (a restarted
 * search) is the job it was, and a job that completed meanwhile is not evaluated twice.
 */
export function evalJobId(setup: string, key: string): string {
  return `${setup.slice(0, 16)}.${key.replace(/\D+/g, '-').replace(/^-|-$/g, '')}`;
}
