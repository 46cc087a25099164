/**
 * A Float32Array of `length` whose values are unset, for an output its producer writes whole.
 * `new Float32Array` zeroes its memory first: for the cpu backend's large outputs that is one
 * more pass over every output of every kernel, a few percent of a training step.
 */
export function uninitializedFloats(length: number): Float32Array {
  return new Float32Array(Buffer.allocUnsafeSlow(length * Float32Array.BYTES_PER_ELEMENT).buffer, 0, length);
}
