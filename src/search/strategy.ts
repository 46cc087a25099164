/**
 * A search strategy as an ask/tell core over integer genes: gene i is an index into a group's
 * choice list, in [0, choices[i] - 1]. Objectives are minimised.
 */
export interface SearchStrategy {
  /** The next candidates to evaluate (a generation); may take time (a promise). */
  ask(): number[][] | Promise<number[][]>;
  /** Their objective vectors, in the order asked. */
  tell(genes: number[][], objectives: number[][]): void;
  /**
   * Its state as JSON after a generation, saved so that a stopped search continues it; without
   * it, a resumed search replays the strategy from its seed against the caches.
   */
  saveState?(): unknown;
  restoreState?(state: unknown): void;
}

export interface StrategySettings {
  /** Choices per gene. */
  choices: number[];
  population: number;
  seed: number;
  crossoverProbability?: number;
  crossoverEta?: number;
  mutationProbability?: number;
  mutationEta?: number;
}

export const geneKey = (genes: number[]) => genes.join(',');

/** How many gene vectors exist. */
export const spaceSize = (choices: number[]) => choices.reduce((n, c) => n * c, 1);
