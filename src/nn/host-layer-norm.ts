/**
 * LayerNorm over each row of `x` [rows, width] on host arrays, in place: (x - mean) /
 * sqrt(var + eps) * weight + bias, the mean and variance summed in double.
 */
export function hostLayerNormInPlace(
  x: Float32Array,
  rows: number,
  weight: Float32Array,
  bias: Float32Array,
  eps: number,
): void {
  const width = weight.length;
  for (let r = 0; r < rows; r++) {
    const at = r * width;
    let sum = 0;
    for (let j = 0; j < width; j++) sum += x[at + j];
    const mean = sum / width;
    let squares = 0;
    for (let j = 0; j < width; j++) squares += (x[at + j] - mean) ** 2;
    const scale = 1 / Math.sqrt(squares / width + eps);
    for (let j = 0; j < width; j++) x[at + j] = (x[at + j] - mean) * scale * weight[j] + bias[j];
  }
}
