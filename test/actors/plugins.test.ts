import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { createActor } from 'xstate';
import { PluginRegistry, pluginSettings } from '../../actors/plugins';
import type { SamplerState } from '../../actors/samplers/sampler';
import { builtInStrategies } from '../../actors/strategies/registry';
import { SearchSpace } from '../../src/nas/search-space';

/** The compiled package, as a plug-in outside lonas's folder requires it (`npx tsc -p tsconfig.json` builds it). */
const lonasPackage = path.join(__dirname, '..', '..', 'dist', 'index.js');

const space = new SearchSpace([
  { kind: 'rank', modules: ['a'], widths: [8, 6, 4] },
  { kind: 'width', modules: ['b'], widths: [64, 48, 32] },
]);

/** A strategy that asks for every gene at `gene` (a setting), once. */
const strategySource = (name: string) =>
  `defineStrategy({ name: '${name}', create: ({ choices, settings }) => ({ ask: () => [choices.map(() => settings.gene ?? 0)], tell() {} }) })`;
/** A sampler that always trains the min subnet. */
const samplerSource = (name: string) =>
  `defineSampler({ name: '${name}', create: ({ space, seed }) => samplerFromReducer(() => ({ subnet: space.minimal() }), { seed, subnet: space.maximal() }) })`;

describe('PluginRegistry.load', () => {
  let folder: string;
  beforeAll(() => {
    if (!fs.existsSync(lonasPackage)) throw new Error(`${lonasPackage} is missing: run npx tsc -p tsconfig.json first`);
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-plugins-'));
  });
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

  /** Writes a CommonJS plug-in module that has lonas's define functions in scope. */
  const pluginFile = (name: string, body: string) => {
    const imports = `const { defineStrategy, defineSampler, samplerFromReducer } = require(${JSON.stringify(lonasPackage)});`;
    fs.writeFileSync(path.join(folder, name), `${imports}\n${body}\n`);
    return name;
  };

  const ask = (registry: PluginRegistry, name: string, settings: unknown = {}) => {
    const plugin = registry.strategy(name, 'test');
    const context = { choices: [3, 3], population: 1, seed: 0, space };
    return plugin.create({ ...context, settings: pluginSettings(plugin, settings, 'test') }).ask();
  };

  const sampled = (registry: PluginRegistry, name: string) => {
    const actor = createActor(registry.sampler(name, 'test').create({ space, seed: 0, settings: {} })).start();
    actor.send({ type: 'SAMPLE', widthIndicator: -1 });
    return (actor.getSnapshot().context as SamplerState).subnet;
  };

  it('loads a CommonJS module that is itself the plug-in (module.exports = defineStrategy(...))', () => {
    const registry = new PluginRegistry(builtInStrategies);
    registry.load(pluginFile('itself.js', `module.exports = ${strategySource('itself')};`), folder);
    expect(registry.names('strategy')).toEqual(['NSGA2', 'random', 'local', 'itself']);
    expect(ask(registry, 'itself', { gene: 2 })).toEqual([[2, 2]]);
  });

  it('loads an `export default` plug-in as TypeScript compiles it (exports.default)', () => {
    const source = `import { defineSampler, samplerFromReducer } from ${JSON.stringify(lonasPackage)};\nexport default ${samplerSource('by-default')};\n`;
    const compiled = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    expect(compiled).toContain('exports.default =');
    fs.writeFileSync(path.join(folder, 'by-default.js'), compiled);
    const registry = new PluginRegistry();
    registry.load('by-default.js', folder);
    expect(registry.names('sampler')).toEqual(['by-default']);
    expect(sampled(registry, 'by-default')).toEqual(space.minimal());
  });

  it('loads named exports, arrays of them, and a module that is an array', () => {
    const registry = new PluginRegistry();
    registry.load(
      pluginFile(
        'named.js',
        `exports.one = ${strategySource('one')};\nexports.pair = [${strategySource('two')}, ${samplerSource('three')}];`,
      ),
      folder,
    );
    registry.load(
      pluginFile('array.js', `module.exports = [${strategySource('four')}, ${samplerSource('five')}];`),
      folder,
    );
    expect(registry.names('strategy')).toEqual(['one', 'two', 'four']);
    expect(registry.names('sampler')).toEqual(['three', 'five']);
    expect(ask(registry, 'four')).toEqual([[0, 0]]);
    expect(sampled(registry, 'five')).toEqual(space.minimal());
  });

  it.each([
    ['no-plugin-export.js', 'exports.answer = 42;'],
    ['no-plugin-value.js', 'module.exports = 42;'],
    ['half-a-plugin.js', "module.exports = { kind: 'strategy', name: 'half' };"],
  ])('refuses a module that exports no plug-in (%s)', (file, body) => {
    expect(() => new PluginRegistry().load(pluginFile(file, body), folder)).toThrow(
      `plug-in ${path.join(folder, file)}: exports no strategy or sampler (use defineStrategy or defineSampler)`,
    );
  });

  it("refuses a plug-in whose name one of lonas's own already has", () => {
    const registry = new PluginRegistry(builtInStrategies);
    const file = pluginFile('clash.js', `module.exports = ${strategySource('NSGA2')};`);
    expect(() => registry.load(file, folder)).toThrow(
      `${path.join(folder, file)}: strategy 'NSGA2' is already defined by lonas`,
    );
  });
});
