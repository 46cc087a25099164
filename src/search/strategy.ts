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

export class StrategyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StrategyError';
  }
}

const shown = (value: unknown) => {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
};

/**
 * What a strategy's ask() returned, checked: at most `population` gene vectors, each with one
 * integer per group inside its choices. A plug-in's mistake is named here, not deep in the search.
 */
export function checkAsked(asked: unknown, choices: number[], population: number, strategy: string): number[][] {
  const where = `search strategy '${strategy}': ask()`;
  if (!Array.isArray(asked) || asked.length > population) {
    throw new StrategyError(
      `${where} must return an array of at most ${population} (the population) gene vectors, got ${shown(asked)}`,
    );
  }
  asked.forEach((genes: unknown, i) => {
    if (!Array.isArray(genes) || genes.length !== choices.length) {
      throw new StrategyError(
        `${where} candidate ${i} must be an array of ${choices.length} genes (one per group), got ${shown(genes)}`,
      );
    }
    genes.forEach((gene: unknown, group) => {
      if (!Number.isInteger(gene) || (gene as number) < 0 || (gene as number) >= choices[group]) {
        throw new StrategyError(
          `${where} candidate ${i}, gene ${group} must be an integer from 0 to ${choices[group] - 1}, got ${shown(gene)}`,
        );
      }
    });
  });
  return asked as number[][];
}
