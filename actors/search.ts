import * as fs from 'fs';
import * as path from 'path';
import type { Observer } from 'rxjs';
import { subnetRecord, type FrontPoint, type LonasEvent } from '../src/events';
import type { SearchResult } from '../src/search/search-result';
import { writeFileAtomic } from '../src/io/atomic-write';
import type { SearchSpace, SubnetConfig } from '../src/nas/search-space';
import { hypervolume2d } from '../src/search/hypervolume';
import { csvRow, geneTuple, progressionRow, readCacheCsv } from '../src/search/nncf-files';
import { paretoFront } from '../src/search/pareto';
import { from, lastValueFrom, tap } from 'rxjs';
import type { Candidate, EvaluatorPool } from './evaluators/evaluator-pool';
import { renderProgression } from '../src/search/progression-plot';
import { checkAsked, spaceSize, type SearchStrategy } from '../src/search/strategy';
import { settleOrAbort } from '../src/util/settle-or-abort';

export interface SearchInput {
  space: SearchSpace;
  strategy: SearchStrategy;
  algorithm: string;
  /** Rounded down to a multiple of population, as NNCF does. */
  numEvals: number;
  population: number;
  /** The efficiency objective of a subnet, in millions of MACs. */
  macs: (subnet: SubnetConfig) => number;
  /** A subnet's weights, reported with each candidate (not an objective). */
  weights?: (subnet: SubnetConfig) => number;
  /** Score the accuracy objective of the candidates (see inProcessPool for one in this process). */
  evaluators: EvaluatorPool;
  refAcc: number;
  accDelta: number;
  /** The hypervolume's reference point in (MACs, -accuracy); default (1.1 x the max subnet's MACs, 0). */
  hypervolumeReference?: [number, number];
  /** Where the NNCF outputs go; its caches, if present, are reused (a restarted search resumes). */
  outputDir: string;
  /** Aborted to stop between candidates; the caches keep what was evaluated, so the search resumes. */
  signal?: AbortSignal;
  /**
   * What the scores depend on (the adapter, the validation data and settings, the search space),
   * recorded with the caches: caches written for other values are discarded, never reused.
   */
  identity?: Record<string, string>;
  /** Subnets already scored on the same objective (the caches take them unless they hold them). */
  scored?: Array<{ subnet: SubnetConfig; accuracy: number }>;
  /** Measurements taken before the search (e.g. val_heuristic_accuracy), recorded in search_summary.json. */
  before?: Record<string, number>;
  events?: Partial<Observer<LonasEvent>>;
}

/**
 * Runs a search strategy the way NNCF's SearchAlgorithm does: generations of `population`
 * candidates asked of the strategy, each scored on (MACs, -accuracy) through the evaluators with
 * a cache keyed on the genes, `num_evals` in all. Writes search_progression.csv, cache_MACs.csv,
 * cache_top1_acc.csv, search_progression.png/.svg, best_subnet.json and search_summary.json
 * (the front and the hypervolume per generation). "Best" is NNCF's: the cheapest subnet whose
 * accuracy exceeds ref_acc - acc_delta, else the max subnet.
 */
const IDENTITY = 'search_identity.json';
const RESULTS_OF_A_RUN = ['cache_MACs.csv', 'cache_top1_acc.csv', 'strategy_state.json'];

/**
 * Caches and strategy state in `outputDir` from a search on other inputs (or of unknown origin)
 * are removed; the identity is recorded for this one. Returns why anything was removed.
 */
function discardStale(outputDir: string, identity: Record<string, string>): string | undefined {
  const file = path.join(outputDir, IDENTITY);
  const present = RESULTS_OF_A_RUN.filter((name) => fs.existsSync(path.join(outputDir, name)));
  const recorded = fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>)
    : undefined;
  const differing = Object.keys(identity).filter((key) => recorded?.[key] !== identity[key]);
  writeFileAtomic(file, `${JSON.stringify(identity, null, 2)}\n`);
  if (present.length === 0 || differing.length === 0) return undefined;
  for (const name of present) fs.rmSync(path.join(outputDir, name));
  return recorded === undefined
    ? `${present.join(', ')} came from a search of unknown inputs`
    : `${present.join(', ')} came from a search with another ${differing.join(', ')}`;
}

export async function search(input: SearchInput): Promise<SearchResult> {
  const { space, strategy, population, outputDir } = input;
  if (population < 1 || population > input.numEvals) {
    throw new Error(`search: population ${population} must be between 1 and num_evals ${input.numEvals}`);
  }
  const emit = (event: LonasEvent) => input.events?.next?.(event);
  const generations = Math.floor(input.numEvals / population);
  fs.mkdirSync(outputDir, { recursive: true });
  const discarded = input.identity === undefined ? undefined : discardStale(outputDir, input.identity);
  const macsCache = readCacheCsv(path.join(outputDir, 'cache_MACs.csv'));
  const accuracyCache = readCacheCsv(path.join(outputDir, 'cache_top1_acc.csv'));
  const fromEarlier = accuracyCache.size;
  const subnetOf = (genes: number[]): SubnetConfig =>
    Object.fromEntries(genes.map((g, i) => [i, space.groups[i].widths[g]]));
  const genesOf = (subnet: SubnetConfig) => space.groups.map((group, i) => group.widths.indexOf(subnet[i]));
  const points: Array<FrontPoint & { generation: number }> = [];
  const progression: string[] = [];
  const hypervolumes: number[] = [];
  let computed = 0;

  const writeCaches = () => {
    // The caches are rewritten whole after every evaluation, so an interruption loses at most one.
    const rows = (cache: Map<string, number>) => [...cache].map(([k, v]) => `${csvRow([k, v])}\n`).join('');
    writeFileAtomic(path.join(outputDir, 'cache_MACs.csv'), rows(macsCache));
    writeFileAtomic(path.join(outputDir, 'cache_top1_acc.csv'), rows(accuracyCache));
  };
  const pointOf = (genes: number[]) => {
    const key = geneTuple(genes);
    const subnet = subnetOf(genes);
    return { key, subnet, macs: macsCache.get(key) as number, accuracy: -(accuracyCache.get(key) as number) };
  };

  /**
   * Streams the candidates not in the cache to the evaluators and takes their results as they
   * come (in any order), announcing each; cached ones are announced at once. Resolves to the
   * candidates' points in the order asked.
   */
  const evaluateGeneration = async (asked: number[][], generation: number) => {
    const announce = (genes: number[], cached: boolean, evaluator?: string) => {
      // The max subnet, scored before the first generation (NNCF's "Input Model"), is no candidate.
      if (generation < 0) return;
      const { subnet, macs, accuracy } = pointOf(genes);
      emit({
        type: 'search.candidate',
        generation,
        subnet: subnetRecord(subnet),
        macs,
        weights: input.weights?.(subnet),
        accuracy,
        cached,
        ...(evaluator === undefined || evaluator === 'main' ? {} : { evaluator }),
      });
    };
    const pending = new Map<string, { genes: number[]; candidate: Candidate }>();
    for (const genes of asked) {
      const key = geneTuple(genes);
      if (macsCache.has(key) && accuracyCache.has(key)) announce(genes, true);
      else pending.set(key, { genes, candidate: { key, subnet: subnetOf(genes) } });
    }
    if (pending.size > 0) {
      input.signal?.throwIfAborted();
      const candidates = from([...pending.values()].map((p) => p.candidate));
      await lastValueFrom(
        input.evaluators.evaluate(candidates).pipe(
          tap((done) => {
            const entry = pending.get(done.key);
            // A result for a candidate already recorded (a retried job finishing twice) counts once.
            if (entry === undefined || accuracyCache.has(done.key)) return;
            const macs = input.macs(done.subnet);
            // An evaluator elsewhere that counts other MACs has another model or search space.
            if (done.macs !== undefined && Math.abs(done.macs - macs) > 1e-6 * Math.max(1, macs)) {
              throw new Error(
                `search: evaluator ${done.evaluator} counts ${done.macs} MMACs for candidate ${done.key}, this search ${macs}: its model or search space differs`,
              );
            }
            macsCache.set(done.key, macs);
            accuracyCache.set(done.key, -done.accuracy);
            computed += 1;
            writeCaches();
            announce(entry.genes, false, done.evaluator);
          }),
        ),
        { defaultValue: undefined },
      );
      const missing = [...pending.keys()].filter((key) => !accuracyCache.has(key));
      if (missing.length > 0) throw new Error(`search: the evaluators returned no result for ${missing.join(', ')}`);
    }
    return asked.map(pointOf);
  };

  for (const { subnet, accuracy } of input.scored ?? []) {
    const key = geneTuple(genesOf(subnet));
    if (accuracyCache.has(key)) continue;
    macsCache.set(key, input.macs(subnet));
    accuracyCache.set(key, -accuracy);
    writeCaches();
  }
  emit({
    type: 'search.start',
    algorithm: input.algorithm,
    numEvals: generations * population,
    population,
    cached: fromEarlier,
    ...(discarded === undefined ? {} : { discarded }),
  });
  const [maximal] = await evaluateGeneration([genesOf(space.maximal())], -1);
  const reference = input.hypervolumeReference ?? [maximal.macs * 1.1, 0];
  // A strategy that saves its state continues from it; the generations it had asked come from the caches.
  const stateFile = path.join(outputDir, 'strategy_state.json');
  const asked: number[][][] = [];
  let saved: { asked: number[][][]; state: unknown } | undefined;
  if (strategy.restoreState !== undefined && fs.existsSync(stateFile)) {
    saved = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { asked: number[][][]; state: unknown };
    strategy.restoreState(saved.state);
  }
  const choices = space.groups.map((group) => group.widths.length);
  let endedEarly: string | undefined;
  for (let generation = 0; generation < generations; generation++) {
    const genes =
      saved?.asked[generation] ??
      checkAsked(await settleOrAbort(strategy.ask(), input.signal), choices, population, input.algorithm);
    if (genes.length === 0) {
      endedEarly =
        `${input.algorithm} proposed no new subnet after ${points.length} of ${generations * population} evaluations ` +
        `(the search space holds ${spaceSize(choices)} subnets)`;
      break;
    }
    const evaluated = await evaluateGeneration(genes, generation);
    const objectives = evaluated.map(({ macs, accuracy }) => [macs, -accuracy]);
    for (const { subnet, macs, accuracy } of evaluated) {
      points.push({ subnet: subnetRecord(subnet), macs, accuracy, generation });
      progression.push(progressionRow(subnet, macs, accuracy));
    }
    asked.push(genes);
    if (saved?.asked[generation] === undefined) {
      strategy.tell(genes, objectives);
      if (strategy.saveState !== undefined) {
        writeFileAtomic(stateFile, `${JSON.stringify({ asked, state: strategy.saveState() })}\n`);
      }
    }
    const all = points.map((p) => [p.macs, -p.accuracy]);
    const front = paretoFront(all).map((i) => points[i]);
    hypervolumes.push(hypervolume2d(all, reference));
    writeFileAtomic(path.join(outputDir, 'search_progression.csv'), `${progression.join('\n')}\n`);
    emit({
      type: 'search.generation',
      generation,
      evaluated: points.length,
      front: front.map(({ subnet, macs, accuracy }) => ({ subnet, macs, accuracy })),
      hypervolume: hypervolumes[hypervolumes.length - 1],
    });
  }

  const threshold = input.refAcc - input.accDelta;
  const qualifying = points.filter((p) => p.accuracy > threshold).sort((a, b) => a.macs - b.macs);
  const meetsReference = qualifying.length > 0;
  const best: FrontPoint = meetsReference
    ? { subnet: qualifying[0].subnet, macs: qualifying[0].macs, accuracy: qualifying[0].accuracy }
    : { subnet: subnetRecord(maximal.subnet), macs: maximal.macs, accuracy: maximal.accuracy };
  const front = paretoFront(points.map((p) => [p.macs, -p.accuracy])).map((i) => points[i]);
  const frontPoints = front
    .map(({ subnet, macs, accuracy }) => ({ subnet, macs, accuracy }))
    .sort((a, b) => a.macs - b.macs);

  const { svg, png } = await renderProgression(
    points,
    { macs: maximal.macs, accuracy: input.refAcc },
    best,
    input.algorithm,
  );
  writeFileAtomic(path.join(outputDir, 'search_progression.svg'), svg);
  writeFileAtomic(path.join(outputDir, 'search_progression.png'), png);
  writeFileAtomic(
    path.join(outputDir, 'best_subnet.json'),
    `${JSON.stringify({ ...space.toJson(best.subnet as SubnetConfig), macs: best.macs, accuracy: best.accuracy, meets_reference: meetsReference }, null, 2)}\n`,
  );
  writeFileAtomic(
    path.join(outputDir, 'search_summary.json'),
    `${JSON.stringify(
      {
        algorithm: input.algorithm,
        num_evals: generations * population,
        population,
        evaluated: points.length,
        ref_acc: input.refAcc,
        acc_delta: input.accDelta,
        ...(endedEarly === undefined ? {} : { ended_early: endedEarly }),
        ...input.before,
        maximal: { macs: maximal.macs, accuracy: maximal.accuracy },
        best,
        pareto_front: frontPoints,
        hypervolume_reference: reference,
        hypervolume_per_generation: hypervolumes,
      },
      null,
      2,
    )}\n`,
  );
  emit({
    type: 'search.done',
    best,
    meetsReference,
    evaluated: points.length,
    ...(endedEarly === undefined ? {} : { endedEarly }),
  });
  return { best, meetsReference, front: frontPoints, hypervolumes, evaluated: points.length, computed };
}
