import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';

/** The WebGPU adapter a run uses, as the start-up line and `lonas backend --json` report it. */
export interface WebGpuAdapter {
  vendor: string;
  architecture: string;
  description: string;
  /** A CPU rasteriser (lavapipe/llvmpipe, SwiftShader): correct, never fast. */
  software: boolean;
  /** The device's limits lonas asked for: the adapter's own maximums. */
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number };
}

/** The parts of WebGPU's API that lonas touches (the packages' own types are optional dependencies). */
interface Adapter {
  info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  limits: Record<string, number>;
  requestDevice(descriptor: { requiredLimits: Record<string, number> }): Promise<unknown>;
}
interface DawnPackage {
  create(options: string[]): { requestAdapter(options: { powerPreference: string }): Promise<Adapter | null> };
  globals: object;
}
interface TfjsWebGpuPackage {
  WebGPUBackend: new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend;
}

/** What opening WebGPU gave: the adapter, or why it was not used. */
export type WebGpuAttempt = { ok: true; adapter: WebGpuAdapter } | { ok: false; detail: string };

const firstLine = (error: unknown) => String(error instanceof Error ? error.message : error).split('\n')[0];

/**
 * Dawn's Node binding from the `webgpu` package. Its entry point is an ES module, which CommonJS
 * (and jest) cannot require on every Node 20; the binding beside it is what that module loads.
 */
function loadDawn(loadModule: (name: string) => unknown): DawnPackage {
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  const folder = path.dirname(require.resolve('webgpu/package.json'));
  return loadModule(path.join(folder, 'dist', `${process.platform}-${arch}`, 'dawn.node')) as DawnPackage;
}

/** Software adapters, by what Dawn reports of them. */
const isSoftware = (info: Adapter['info']) =>
  info.isFallbackAdapter === true ||
  info.architecture === 'software' ||
  /llvmpipe|lavapipe|swiftshader/i.test(`${info.description} ${info.device}`);

export const describeAdapter = (adapter: WebGpuAdapter) =>
  `${adapter.vendor} ${adapter.architecture} adapter "${adapter.description}"${adapter.software ? ' (software: correct, not fast)' : ''}, ` +
  `storage bindings up to ${(adapter.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB, ` +
  `buffers up to ${(adapter.limits.maxBufferSize / 2 ** 20).toFixed(0)} MiB`;

/**
 * Why there is no Vulkan driver to open, on Linux: the loader's driver files (ICDs), by the
 * environment or in the standard folders. Checked before Dawn loads: without one, Dawn finds no
 * adapter and prints native errors on stderr.
 */
function vulkanDriverMissing(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const named = (process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES)?.split(':').filter(Boolean);
  if (named !== undefined) {
    return named.some((file) => fs.existsSync(file)) ? undefined : `no Vulkan driver (${named.join(':')} is absent)`;
  }
  const folders = [
    ...(process.env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':').filter(Boolean),
    '/etc',
  ].map((folder) => path.join(folder, 'vulkan', 'icd.d'));
  const found = folders.some(
    (folder) => fs.existsSync(folder) && fs.readdirSync(folder).some((f) => f.endsWith('.json')),
  );
  return found
    ? undefined
    : "no Vulkan driver (no ICD file in /usr/share/vulkan/icd.d: a GPU vendor's, or Mesa 25's lavapipe from bookworm-backports)";
}

/** A software adapter only when asked for by name. */
const judged = (adapter: WebGpuAdapter, allowSoftware: boolean): WebGpuAttempt =>
  adapter.software && !allowSoftware
    ? { ok: false, detail: `only a software adapter (${adapter.description}); ask for it with --backend webgpu` }
    : { ok: true, adapter };

/** The adapter this process registered the backend on: a process opens one device, once. */
let opened: WebGpuAdapter | undefined;

/**
 * Opens WebGPU through Dawn (the `webgpu` package) and registers tfjs's `webgpu` backend on a
 * device created with every limit at the adapter's own maximum (tfjs's own registration asks for
 * a few). A software adapter is used only where `allowSoftware` (the run asked for webgpu by
 * name). Does not activate the backend.
 */
export async function openWebGpu(
  loadModule: (name: string) => unknown,
  allowSoftware: boolean,
): Promise<WebGpuAttempt> {
  if (opened !== undefined) return judged(opened, allowSoftware);
  let dawn: DawnPackage;
  let tfjsWebGpu: TfjsWebGpuPackage;
  try {
    dawn = loadDawn(loadModule);
    tfjsWebGpu = loadModule('@tensorflow/tfjs-backend-webgpu') as TfjsWebGpuPackage;
  } catch (error) {
    return {
      ok: false,
      detail: `the optional packages webgpu and @tensorflow/tfjs-backend-webgpu: ${firstLine(error)}`,
    };
  }
  const noDriver = vulkanDriverMissing();
  if (noDriver !== undefined) return { ok: false, detail: noDriver };
  let adapter: Adapter | null;
  const gpu = dawn.create([]);
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    return { ok: false, detail: `Dawn found no adapter: ${firstLine(error)}` };
  }
  if (adapter === null) {
    return {
      ok: false,
      detail:
        "Dawn found no WebGPU adapter (no Vulkan driver: a GPU vendor's, or Mesa 25's lavapipe from bookworm-backports)",
    };
  }
  const { info } = adapter;
  const found: WebGpuAdapter = {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    software: isSoftware(info),
    limits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  };
  if (found.software && !allowSoftware) return judged(found, allowSoftware);
  // tfjs-backend-webgpu reads WebGPU's globals (GPUBufferUsage, ...) and navigator.gpu at run time.
  Object.assign(globalThis, dawn.globals);
  const host = globalThis as { navigator?: { gpu?: unknown } };
  if (host.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true });
  (host.navigator as { gpu?: unknown }).gpu = gpu;
  const requiredLimits: Record<string, number> = {};
  for (const name in adapter.limits) {
    const value = adapter.limits[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  let device: unknown;
  try {
    device = await adapter.requestDevice({ requiredLimits });
  } catch (error) {
    return { ok: false, detail: `the adapter "${info.description}" refused a device: ${firstLine(error)}` };
  }
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new tfjsWebGpu.WebGPUBackend(device, info));
  opened = found;
  return { ok: true, adapter: found };
}
