import * as tf from '@tensorflow/tfjs-core';
import { registerGradients } from './gradients';
import * as os from 'os';
import { isMainThread } from 'worker_threads';
import { blasAddon } from './kernels/blas-addon';
import { matMulPath, registerKernelPatches } from './kernels/register-kernel-patches';
import { describeEstimate, describeLargest, WASM_HEAP_BYTES, type MemoryEstimate } from './memory-estimate';
import { describeAdapter, openWebGpu, type WebGpuAdapter } from './webgpu';

/** The tensor backends lonas can run on, in the order they are tried. */
export const backendNames = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];

/** Native TensorFlow bindings, GPU build first; each registers the 'tensorflow' backend. */
export const tensorflowPackages = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

export interface BackendChoice {
  name: BackendName;
  /** Why this backend: asked for, or what was tried before it. */
  reason: string;
  /** What runs the kernels (package, SIMD, patches). */
  detail: string;
  /** The WebGPU adapter, on webgpu. */
  adapter?: WebGpuAdapter;
}

export interface BackendOptions {
  /** A backend asked for on the command line (`--backend`); otherwise `LONAS_BACKEND`, otherwise automatic. */
  requested?: string;
  env?: Record<string, string | undefined>;
  /** Where the one-line report goes; stderr by default. */
  log?: (line: string) => void;
  /** Loads an optional package; `require` by default, replaceable in tests. */
  loadModule?: (name: string) => unknown;
  /** What the run will hold at its peak: a run past wasm's heap goes to another backend, or is refused. */
  memory?: MemoryEstimate;
  /** The machine's memory (default os.totalmem()), replaceable in tests. */
  machineMemory?: number;
}

export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

interface Attempt {
  ok: boolean;
  detail: string;
  adapter?: WebGpuAdapter;
}

/** How a backend is tried: with the module loader, and whether the run asked for it by name. */
type TryBackend = (loadModule: (name: string) => unknown, asked: boolean) => Promise<Attempt>;

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0];
}

async function activate(name: BackendName): Promise<boolean> {
  // tfjs logs and returns false when a backend fails to initialise.
  return (await tf.setBackend(name)) && tf.getBackend() === name;
}

async function tryTensorflow(loadModule: (name: string) => unknown): Promise<Attempt> {
  const failures: string[] = [];
  for (const pkg of tensorflowPackages) {
    try {
      loadModule(pkg);
    } catch (error) {
      failures.push(`${pkg}: ${firstLine(error)}`);
      continue;
    }
    if (await activate('tensorflow')) return { ok: true, detail: pkg };
    failures.push(`${pkg}: loaded, but its 'tensorflow' backend failed to initialise`);
  }
  return { ok: false, detail: failures.join('; ') };
}

/** Loads a tfjs backend package (it registers itself), activates it and installs lonas's kernels for it. */
async function tryPackage(name: 'wasm' | 'cpu', pkg: string, loadModule: (name: string) => unknown): Promise<Attempt> {
  try {
    loadModule(pkg);
  } catch (error) {
    return { ok: false, detail: `${pkg}: ${firstLine(error)}` };
  }
  if (!(await activate(name))) return { ok: false, detail: `${pkg}: the backend failed to initialise` };
  registerKernelPatches(name);
  return { ok: true, detail: pkg };
}

async function tryWasm(loadModule: (name: string) => unknown): Promise<Attempt> {
  const attempt = await tryPackage('wasm', '@tensorflow/tfjs-backend-wasm', loadModule);
  if (!attempt.ok) return attempt;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { ok: true, detail: `${attempt.detail} (${simd ? 'SIMD' : 'no SIMD'}), ${matMulPath('wasm')}` };
}

async function tryCpu(loadModule: (name: string) => unknown): Promise<Attempt> {
  const attempt = await tryPackage('cpu', '@tensorflow/tfjs-backend-cpu', loadModule);
  if (!attempt.ok) return attempt;
  // Every cpu kernel output is a fresh array: reusing freed memory spares its page faults.
  blasAddon().addon?.retainFreedMemory();
  return { ok: true, detail: `${attempt.detail}, ${matMulPath('cpu')}` };
}

/** WebGPU on a hardware adapter, or on a software one when asked for by name. */
async function tryWebgpu(loadModule: (name: string) => unknown, asked: boolean): Promise<Attempt> {
  // Dawn's binding aborts the process when a thread that is loading it is ended: a worker thread
  // (an evaluator) probes it only when asked for it by name.
  if (!asked && !isMainThread) return { ok: false, detail: 'not probed in a worker thread (ask for it by name)' };
  const opened = await openWebGpu(loadModule, asked);
  if (!opened.ok) return opened;
  if (!(await activate('webgpu'))) return { ok: false, detail: 'the webgpu backend failed to initialise' };
  return { ok: true, detail: `webgpu (Dawn) on the ${describeAdapter(opened.adapter)}`, adapter: opened.adapter };
}

const attempts: Record<BackendName, TryBackend> = {
  tensorflow: tryTensorflow,
  webgpu: tryWebgpu,
  wasm: tryWasm,
  cpu: tryCpu,
};

/** Reads `--backend` or `LONAS_BACKEND`; undefined means choose automatically. */
export function requestedBackend(options: BackendOptions): BackendName | undefined {
  const fromFlag = options.requested !== undefined;
  const raw = (fromFlag ? options.requested : (options.env ?? process.env).LONAS_BACKEND)?.trim();
  if (raw === undefined || raw === '' || raw === 'auto') return undefined;
  if (!(backendNames as readonly string[]).includes(raw)) {
    const source = fromFlag ? '--backend' : 'LONAS_BACKEND';
    throw new BackendUnavailableError(
      `${source}=${raw} is not a backend: expected one of ${backendNames.join(', ')} or auto`,
    );
  }
  return raw as BackendName;
}

/**
 * Chooses the tensor backend once at start-up: the one asked for (an error if it cannot load, or
 * cannot hold the run's `memory`), else the first of tensorflow, webgpu (on a hardware adapter),
 * wasm, cpu that loads and can hold it (wasm's heap stops at 4 GiB; the machine's memory bounds
 * them all). Prints one line saying which and why.
 */
export async function selectBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const loadModule = options.loadModule ?? require;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  tf.enableProdMode(); // the backend report below replaces tfjs's own start-up banner
  registerGradients();
  const asked = requestedBackend(options);
  const { memory } = options;
  const machineMemory = options.machineMemory ?? os.totalmem();
  // Where the run cannot fit, a clear error now rather than "memory access out of bounds" later.
  if (memory !== undefined && memory.total > machineMemory) {
    throw new BackendUnavailableError(
      `this run needs about ${describeEstimate(memory)}, more than this machine's ${(machineMemory / 1024 ** 3).toFixed(1)} GiB of memory: use a smaller batch, shorter sequences or a machine with more`,
    );
  }
  /** Why `name` cannot hold the run: wasm's heap, or on webgpu (once its adapter is known) one buffer binding. */
  const tooLarge = (name: BackendName, adapter?: WebGpuAdapter): string | undefined => {
    if (memory === undefined) return undefined;
    if (name === 'wasm' && memory.total > WASM_HEAP_BYTES) {
      return `this run needs about ${describeEstimate(memory)}, past wasm's ${WASM_HEAP_BYTES / 1024 ** 3} GiB heap`;
    }
    const binding = adapter === undefined ? Infinity : Math.min(...Object.values(adapter.limits));
    if (name === 'webgpu' && memory.largest !== undefined && memory.largest.bytes > binding) {
      return `this run's largest tensor, ${describeLargest(memory.largest)}, is past the adapter's ${(binding / 1024 ** 2).toFixed(0)} MiB limit on one buffer`;
    }
    return undefined;
  };
  let choice: BackendChoice;
  if (asked !== undefined) {
    const why = tooLarge(asked);
    if (why !== undefined) throw new BackendUnavailableError(`backend '${asked}' cannot hold this run: ${why}`);
    const attempt = await attempts[asked](loadModule, true);
    if (!attempt.ok) {
      const hint =
        asked === 'tensorflow'
          ? ' Install @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, or ask for wasm or cpu.'
          : asked === 'webgpu'
            ? ' Install the optional packages webgpu and @tensorflow/tfjs-backend-webgpu and a Vulkan driver, or ask for wasm or cpu.'
            : '';
      throw new BackendUnavailableError(`backend '${asked}' was asked for but cannot load: ${attempt.detail}.${hint}`);
    }
    const unfit = tooLarge(asked, attempt.adapter);
    if (unfit !== undefined) throw new BackendUnavailableError(`backend '${asked}' cannot hold this run: ${unfit}`);
    const source = options.requested !== undefined ? '--backend' : 'LONAS_BACKEND';
    choice = { name: asked, reason: `asked for by ${source}`, detail: attempt.detail, adapter: attempt.adapter };
  } else {
    const skipped: string[] = [];
    let found: BackendChoice | undefined;
    for (const name of backendNames) {
      const why = tooLarge(name);
      if (why !== undefined) {
        skipped.push(`${name} skipped (${why})`);
        continue;
      }
      const attempt = await attempts[name](loadModule, false);
      const unfit = attempt.ok ? tooLarge(name, attempt.adapter) : undefined;
      if (unfit !== undefined) {
        skipped.push(`${name} skipped (${unfit})`);
        continue;
      }
      if (attempt.ok) {
        found = {
          name,
          reason: skipped.length === 0 ? 'first choice' : `automatic; ${skipped.join('; ')}`,
          detail: attempt.detail,
          adapter: attempt.adapter,
        };
        break;
      }
      skipped.push(`${name} unavailable (${attempt.detail})`);
    }
    if (found === undefined) throw new BackendUnavailableError(`no tensor backend could load: ${skipped.join('; ')}`);
    choice = found;
  }
  log(`lonas: backend ${choice.name} — ${choice.detail} — ${choice.reason}`);
  return choice;
}
