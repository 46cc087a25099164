/** Pareto machinery for minimisation. */

/** a dominates b: no worse in every objective, better in one. */
export function dominates(a: number[], b: number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) better = true;
  }
  return better;
}

/** Fast non-dominated sort (Deb et al.): fronts of indices, best first. */
export function nonDominatedFronts(objectives: number[][]): number[][] {
  const n = objectives.length;
  const dominatedBy = Array.from({ length: n }, () => 0);
  const dominating: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (dominates(objectives[i], objectives[j])) {
        dominating[i].push(j);
        dominatedBy[j]++;
      } else if (dominates(objectives[j], objectives[i])) {
        dominating[j].push(i);
        dominatedBy[i]++;
      }
    }
  }
  const fronts: number[][] = [];
  let current = [...Array(n).keys()].filter((i) => dominatedBy[i] === 0);
  while (current.length > 0) {
    fronts.push(current);
    const next: number[] = [];
    for (const i of current) {
      for (const j of dominating[i]) if (--dominatedBy[j] === 0) next.push(j);
    }
    current = next;
  }
  return fronts;
}

/** The indices of the non-dominated points. */
export function paretoFront(objectives: number[][]): number[] {
  return nonDominatedFronts(objectives)[0] ?? [];
}
