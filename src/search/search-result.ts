import type { FrontPoint } from '../events';

/** What a search found. */
export interface SearchResult {
  best: FrontPoint;
  meetsReference: boolean;
  front: FrontPoint[];
  hypervolumes: number[];
  evaluated: number;
  /** Candidates evaluated in this run (the rest came from the cache). */
  computed: number;
}
