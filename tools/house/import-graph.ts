/**
 * The house's import rules, made checkable: which package file imports which, the circles among
 * them, and the layer order imports should only walk down (docs/ARCHITECTURE.md's rooms).
 *
 *   npx tsc -p tsconfig.json && node dist/tools/house/import-graph.js
 *
 * prints the number of files, every circle, every upward import and the walk from the CLI.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

/** Repository-relative file (forward slashes) -> the repository files it imports, sorted. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

export interface Import {
  from: string;
  to: string;
}

/** The package's rooms: what `index.ts` publishes and the CLI runs. */
const packageRooms = ['index.ts', 'src', 'actors', 'machines', 'tools'] as const;

/**
 * Lowest layer first. A room ending in `/` is a folder; the longest room that holds a file decides
 * its layer, so `tools/live/` sits below the `tools/` that takes every other tools folder.
 */
export const layerOrder: readonly (readonly string[])[] = [
  ['src/util/', 'src/types/', 'src/config/'],
  ['src/backend/'],
  ['src/io/'],
  ['src/nn/'],
  ['src/tokenizers/'],
  ['src/models/'],
  ['src/nas/'],
  ['src/events.ts'],
  ['src/search/'],
  ['src/train/'],
  ['src/data/'],
  ['src/eval/'],
  ['src/tasks/'],
  ['src/experiment/'],
  ['src/distributed/'],
  ['src/live/'],
  ['machines/'],
  ['actors/plugins.ts', 'actors/samplers/', 'actors/strategies/'],
  ['actors/evaluators/'],
  ['actors/trainer.ts', 'actors/search.ts'],
  ['actors/experiment/'],
  ['tools/live/'],
  ['index.ts'],
  ['tools/'],
];

/** The file's layer, numbered from 1 at the bottom as `layerOrder` lists them; undefined outside it. */
export function layerOf(file: string): number | undefined {
  let best: { layer: number; length: number } | undefined;
  layerOrder.forEach((rooms, index) => {
    for (const room of rooms) {
      const holds = room.endsWith('/') ? file.startsWith(room) : file === room;
      if (holds && room.length > (best?.length ?? -1)) best = { layer: index + 1, length: room.length };
    }
  });
  return best?.layer;
}

/** Every `.ts` file of the rooms under root, sorted. */
function sourceFiles(root: string): string[] {
  const files: string[] = [];
  const visit = (relative: string) => {
    const stat = fs.statSync(path.join(root, relative));
    if (stat.isFile()) {
      if (relative.endsWith('.ts')) files.push(relative);
      return;
    }
    for (const entry of fs.readdirSync(path.join(root, relative))) {
      if (entry !== 'node_modules') visit(path.posix.join(relative, entry));
    }
  };
  for (const room of packageRooms) if (fs.existsSync(path.join(root, room))) visit(room);
  return files.sort();
}

/**
 * The known files `file` imports. TypeScript's own scanner finds the specifiers, so `import type`,
 * `export ... from`, `require()` and `import()` all count and comments or strings never do; only
 * relative ones can name a file of the house, tried as Node tries them.
 */
function importedFiles(root: string, file: string, known: ReadonlySet<string>): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const targets = new Set<string>();
  for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
    if (!/^\.\.?(\/|$)/.test(fileName)) continue;
    const base = path.posix.join(path.posix.dirname(file), fileName);
    const target = [base, `${base}.ts`, `${base}.d.ts`, `${base}/index.ts`].find((candidate) => known.has(candidate));
    if (target !== undefined) targets.add(target);
  }
  return [...targets].sort();
}

/** The import graph of the rooms' files; imports of files outside the rooms are left out. */
export function importGraph(root: string): ImportGraph {
  const files = sourceFiles(root);
  const known = new Set(files);
  return new Map(files.map((file) => [file, importedFiles(root, file, known)]));
}

export function importsOf(graph: ImportGraph): Import[] {
  return [...graph].flatMap(([from, targets]) => targets.map((to) => ({ from, to })));
}

/** Files that reach themselves: strongly connected components of more than one, and self-imports. */
export function circles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm: one depth-first pass, a component closes where its first file was entered.
  const order = new Map<string, number>();
  const lowest = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const enter = (file: string) => {
    order.set(file, order.size);
    lowest.set(file, order.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!order.has(target)) {
        enter(target);
        lowest.set(file, Math.min(lowest.get(file)!, lowest.get(target)!));
      } else if (onStack.has(target)) {
        lowest.set(file, Math.min(lowest.get(file)!, order.get(target)!));
      }
    }
    if (lowest.get(file) !== order.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || graph.get(file)?.includes(file)) found.push(component.sort());
  };
  for (const file of graph.keys()) if (!order.has(file)) enter(file);
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}

/** False where either file is outside the layer order: those are reported on their own. */
function goesUp({ from, to }: Import): boolean {
  const [lower, higher] = [layerOf(from), layerOf(to)];
  return lower !== undefined && higher !== undefined && lower < higher;
}

/** Imports from a lower layer to a higher one. */
export function upwardImports(graph: ImportGraph): Import[] {
  return importsOf(graph).filter(goesUp);
}

export interface Walk {
  /** Every file reachable from the entry, the entry included, in the order the walk met them. */
  reached: string[];
  /** The imports on the walk that go up the layer order, back above a layer it had gone down to. */
  returns: Import[];
}

/** A walk of everything `entry` reaches; each reached file's imports are looked at once. */
export function configWalk(graph: ImportGraph, entry: string): Walk {
  const reached = [entry];
  const seen = new Set(reached);
  const returns: Import[] = [];
  for (let next = 0; next < reached.length; next++) {
    const from = reached[next];
    for (const to of graph.get(from) ?? []) {
      if (goesUp({ from, to })) returns.push({ from, to });
      if (!seen.has(to)) {
        seen.add(to);
        reached.push(to);
      }
    }
  }
  return { reached, returns };
}

export function describeImport({ from, to }: Import): string {
  return `${from} (layer ${layerOf(from)}) -> ${to} (layer ${layerOf(to)})`;
}

/** The repository: the nearest folder holding a package.json, from the sources or from dist/. */
function repositoryRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

function report(root: string): string[] {
  const graph = importGraph(root);
  const found = circles(graph);
  const upward = upwardImports(graph);
  const outside = [...graph.keys()].filter((file) => layerOf(file) === undefined);
  const entry = 'tools/cli/main.ts';
  const walk = configWalk(graph, entry);
  return [
    `files: ${graph.size}`,
    `circles: ${found.length}`,
    ...found.map((component) => `  ${component.join(' <-> ')}`),
    ...(outside.length > 0 ? [`outside the layer order: ${outside.join(', ')}`] : []),
    `upward imports: ${upward.length}`,
    ...upward.map((edge) => `  ${describeImport(edge)}`),
    `walk from ${entry}: ${walk.reached.length} files, ${walk.returns.length} returns to a higher layer`,
  ];
}

if (require.main === module) process.stdout.write(`${report(repositoryRoot()).join('\n')}\n`);
