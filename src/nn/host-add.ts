/** target += addend elementwise (a residual connection on host arrays). */
export function addInPlace(target: Float32Array, addend: Float32Array): void {
  for (let i = 0; i < target.length; i++) target[i] += addend[i];
}
