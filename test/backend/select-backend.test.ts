import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError, selectBackend, tensorflowPackages } from '../../src/backend';

/** A module loader on which native TensorFlow and WebGPU are missing, whatever this machine has. */
const withoutTensorflow = (name: string): unknown => {
  if (
    (tensorflowPackages as readonly string[]).includes(name) ||
    name.includes('webgpu') ||
    name.endsWith('dawn.node')
  ) {
    throw new Error(`Cannot find module '${name}'`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- stands in for selectBackend's own loader
  return require(name);
};

describe('selectBackend', () => {
  it('uses cpu when asked for, and says so in one line', async () => {
    const lines: string[] = [];
    const choice = await selectBackend({ requested: 'cpu', log: (l) => lines.push(l) });
    expect(choice.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lonas: backend cpu .*asked for by --backend/);
  });

  it('uses wasm when LONAS_BACKEND asks for it', async () => {
    const lines: string[] = [];
    const choice = await selectBackend({ env: { LONAS_BACKEND: 'wasm' }, log: (l) => lines.push(l) });
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(lines[0]).toMatch(/backend wasm .*asked for by LONAS_BACKEND/);
  });

  it('gives a flag precedence over the environment', async () => {
    const choice = await selectBackend({ requested: 'cpu', env: { LONAS_BACKEND: 'wasm' }, log: () => {} });
    expect(choice.name).toBe('cpu');
  });

  it('refuses a tensorflow backend that cannot load, naming both packages, instead of falling back', async () => {
    await tf.setBackend('cpu');
    const attempt = selectBackend({ requested: 'tensorflow', loadModule: withoutTensorflow, log: () => {} });
    await expect(attempt).rejects.toThrow(BackendUnavailableError);
    await expect(
      selectBackend({ requested: 'tensorflow', loadModule: withoutTensorflow, log: () => {} }),
    ).rejects.toThrow(
      /backend 'tensorflow' was asked for but cannot load: @tensorflow\/tfjs-node-gpu: .*@tensorflow\/tfjs-node: /,
    );
    expect(tf.getBackend()).toBe('cpu');
  });

  it('rejects an unknown backend name, listing the valid ones', async () => {
    await expect(selectBackend({ env: { LONAS_BACKEND: 'vulkan' }, log: () => {} })).rejects.toThrow(
      'LONAS_BACKEND=vulkan is not a backend: expected one of tensorflow, webgpu, wasm, cpu or auto',
    );
  });

  it('falls through to wasm automatically when no native binding loads, and says why', async () => {
    const lines: string[] = [];
    const choice = await selectBackend({ env: {}, loadModule: withoutTensorflow, log: (l) => lines.push(l) });
    expect(choice.name).toBe('wasm');
    expect(lines[0]).toMatch(/backend wasm .*tensorflow unavailable \(@tensorflow\/tfjs-node-gpu: Cannot find module/);
    expect(lines[0]).toMatch(
      /webgpu unavailable \(the optional packages webgpu and @tensorflow\/tfjs-backend-webgpu: /,
    );
  });

  describe('by the size of the run', () => {
    const gib = 1024 ** 3;
    const run = (total: number) => ({ weights: total / 4, adapter: 0, activations: (3 * total) / 4, total });

    it('goes past wasm to cpu when the run would not fit in its 4 GiB heap, saying so', async () => {
      const lines: string[] = [];
      const choice = await selectBackend({
        env: {},
        loadModule: withoutTensorflow,
        memory: run(8 * gib),
        machineMemory: 64 * gib,
        log: (l) => lines.push(l),
      });
      expect(choice.name).toBe('cpu');
      expect(lines[0]).toMatch(
        /^lonas: backend cpu .*wasm skipped \(this run needs about 8\.0 GiB \(weights 2\.0 GiB, adapter 0\.0 GiB, activations 6\.0 GiB\), past wasm's 4 GiB heap\)$/,
      );
      // A run that fits keeps wasm.
      expect(
        (await selectBackend({ env: {}, loadModule: withoutTensorflow, memory: run(gib), log: () => {} })).name,
      ).toBe('wasm');
    });

    it('refuses wasm asked for a run past its heap, and any backend for a run past the machine', async () => {
      await expect(selectBackend({ requested: 'wasm', memory: run(6 * gib), log: () => {} })).rejects.toThrow(
        "backend 'wasm' cannot hold this run: this run needs about 6.0 GiB (weights 1.5 GiB, adapter 0.0 GiB, activations 4.5 GiB), past wasm's 4 GiB heap",
      );
      await expect(
        selectBackend({ env: {}, memory: run(40 * gib), machineMemory: 24 * gib, log: () => {} }),
      ).rejects.toThrow(
        "this run needs about 40.0 GiB (weights 10.0 GiB, adapter 0.0 GiB, activations 30.0 GiB), more than this machine's 24.0 GiB of memory",
      );
    });
  });

  it('falls through to cpu when wasm cannot load either', async () => {
    const noWasm = (name: string): unknown => {
      if (name === '@tensorflow/tfjs-backend-wasm') throw new Error('no wasm here');
      return withoutTensorflow(name);
    };
    await tf.setBackend('cpu');
    tf.removeBackend('wasm');
    const choice = await selectBackend({ env: {}, loadModule: noWasm, log: () => {} });
    expect(choice.name).toBe('cpu');
    expect(choice.reason).toMatch(/wasm unavailable/);
  });
});
