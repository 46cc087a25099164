import { paretoFront } from './pareto';

/**
 * The area dominated by a set of two-objective points (both minimised) and bounded by a reference
 * point; points not strictly better than the reference in both objectives add nothing.
 */
export function hypervolume2d(points: number[][], reference: [number, number]): number {
  const inside = points.filter((p) => p[0] < reference[0] && p[1] < reference[1]);
  const front = paretoFront(inside)
    .map((i) => inside[i])
    .sort((a, b) => a[0] - b[0]);
  let volume = 0;
  let ceiling = reference[1];
  for (const [x, y] of front) {
    if (y >= ceiling) continue;
    volume += (reference[0] - x) * (ceiling - y);
    ceiling = y;
  }
  return volume;
}
