import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  circles,
  configWalk,
  describeImport,
  importGraph,
  importsOf,
  layerOf,
  upwardImports,
  type Import,
} from '../../tools/house/import-graph';

const repository = path.resolve(__dirname, '..', '..');
// Imports up the layer order the house tolerates while they are being moved down.
const allowedUpwardImports = 2;

const arrow = ({ from, to }: Import) => `${from} -> ${to}`;

describe("the house's import rules", () => {
  const graph = importGraph(repository);
  const imports = importsOf(graph);

  it('reads the package rooms', () => {
    expect(graph.get('tools/cli/main.ts')).toEqual(expect.arrayContaining(['tools/cli/command.ts']));
    expect([...graph.keys()].some((file) => file.startsWith('test/'))).toBe(false);
  });

  it('places every file in the layer order', () => {
    expect([...graph.keys()].filter((file) => layerOf(file) === undefined)).toEqual([]);
  });

  it('has no import circles', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('keeps src/ free of actors/, machines/, tools/ and the package entry', () => {
    const outward = imports.filter(({ from, to }) => from.startsWith('src/') && !to.startsWith('src/'));
    expect(outward.map(arrow)).toEqual([]);
  });

  it('lets machines/ import only src/', () => {
    const outward = imports.filter(
      ({ from, to }) => from.startsWith('machines/') && !to.startsWith('src/') && !to.startsWith('machines/'),
    );
    expect(outward.map(arrow)).toEqual([]);
  });

  it(`has at most ${allowedUpwardImports} imports up the layer order`, () => {
    const upward = upwardImports(graph).map(describeImport);
    // Listed in full when over the allowance, so the failure names every edge.
    expect(upward.length <= allowedUpwardImports ? [] : upward).toEqual([]);
  });
});

describe('the import graph of a folder', () => {
  const folders: string[] = [];
  afterAll(() => folders.forEach((folder) => fs.rmSync(folder, { recursive: true, force: true })));

  /** A repository of the given files (path -> source) in a fresh temporary folder. */
  const repositoryOf = (files: Record<string, string>): string => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-house-'));
    folders.push(root);
    for (const [file, source] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), source);
    }
    return root;
  };

  it('finds every kind of import with a literal relative specifier, and nothing else', () => {
    const root = repositoryOf({
      'tools/cli/main.ts': [
        "import type { A } from './a';",
        "export * from './b';",
        "export { c } from '../../src/util/c';",
        "const d = require('./d');",
        "async function e() { return import('./e'); }",
        "import { nn } from '../../src/nn';",
        "import * as fs from 'fs';",
        "// import { f } from './f';",
        'const g = "import { g } from \'./g\'";',
        'const h = require(d.name);',
      ].join('\n'),
      'tools/cli/a.ts': '',
      'tools/cli/b.ts': '',
      'src/util/c.ts': '',
      'tools/cli/d.ts': '',
      'tools/cli/e.ts': '',
      'tools/cli/f.ts': '',
      'tools/cli/g.ts': '',
      'src/nn/index.ts': '',
      'test/outside.ts': "import './tools/cli/a';",
    });
    const graph = importGraph(root);
    expect(graph.get('tools/cli/main.ts')).toEqual([
      'src/nn/index.ts',
      'src/util/c.ts',
      'tools/cli/a.ts',
      'tools/cli/b.ts',
      'tools/cli/d.ts',
      'tools/cli/e.ts',
    ]);
    expect(graph.has('test/outside.ts')).toBe(false);
  });

  it('finds a two-file circle and a self-import, and no circle in a chain', () => {
    const root = repositoryOf({
      'src/util/a.ts': "import { b } from './b';",
      'src/util/b.ts': "import type { A } from './a';",
      'src/util/self.ts': "export * from './self';",
      'src/util/chain.ts': "import './end';",
      'src/util/end.ts': '',
    });
    expect(circles(importGraph(root))).toEqual([['src/util/a.ts', 'src/util/b.ts'], ['src/util/self.ts']]);
  });

  it('finds a circle through three layers', () => {
    const root = repositoryOf({
      'src/nn/a.ts': "import '../models/b';",
      'src/models/b.ts': "import '../nas/c';",
      'src/nas/c.ts': "import '../nn/a';",
    });
    expect(circles(importGraph(root))).toEqual([['src/models/b.ts', 'src/nas/c.ts', 'src/nn/a.ts']]);
  });

  it('counts an import from a lower layer to a higher one, and not the ones down or across', () => {
    const root = repositoryOf({
      'src/nn/linear.ts': "import '../models/llama';\nimport '../util/random';\nimport './norm';",
      'src/nn/norm.ts': '',
      'src/models/llama.ts': '',
      'src/util/random.ts': '',
    });
    expect(upwardImports(importGraph(root))).toEqual([{ from: 'src/nn/linear.ts', to: 'src/models/llama.ts' }]);
  });

  it('walks what an entry reaches, counting each return up the layer order once', () => {
    const root = repositoryOf({
      'tools/cli/main.ts': "import '../../src/tasks/task';\nimport '../../src/nn/linear';",
      'src/tasks/task.ts': "import '../nn/linear';",
      'src/nn/linear.ts': "import '../models/llama';",
      'src/models/llama.ts': '',
      'src/io/unreached.ts': "import '../live/protocol';",
      'src/live/protocol.ts': '',
    });
    const walk = configWalk(importGraph(root), 'tools/cli/main.ts');
    expect([...walk.reached].sort()).toEqual([
      'src/models/llama.ts',
      'src/nn/linear.ts',
      'src/tasks/task.ts',
      'tools/cli/main.ts',
    ]);
    expect(walk.returns).toEqual([{ from: 'src/nn/linear.ts', to: 'src/models/llama.ts' }]);
  });

  it('places a file by the longest room that holds it', () => {
    expect(layerOf('src/util/seeded-random.ts')).toBe(1);
    expect(layerOf('src/events.ts')).toBe(8);
    expect(layerOf('actors/search.ts')).toBe(20);
    expect(layerOf('tools/live/live-server.ts')).toBe(22);
    expect(layerOf('index.ts')).toBe(23);
    expect(layerOf('tools/cli/main.ts')).toBe(24);
    expect(layerOf('tools/local-redis.ts')).toBe(24);
    expect(layerOf('src/elsewhere/file.ts')).toBeUndefined();
    expect(layerOf('actors/search-helper.ts')).toBeUndefined();
  });
});
