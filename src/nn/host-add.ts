import { BINARY_OPS, blasAddon } from '../backend/kernels/blas-addon';

const ADD = BINARY_OPS.indexOf('add');

/**
 * target += addend elementwise (a residual connection on host arrays; addend at least as long), on
 * the addon where it is loaded.
 */
export function addInPlace(target: Float32Array, addend: Float32Array): void {
  const addon = blasAddon().addon;
  if (addon !== undefined) {
    const shape = [target.length];
    addon.binary(ADD, target, shape, addend, shape, target, shape);
    return;
  }
  for (let i = 0; i < target.length; i++) target[i] += addend[i];
}
