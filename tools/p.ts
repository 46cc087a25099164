import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/backend';
async function main() {
  await selectBackend({ requested: 'wasm', log: () => {} });
  const w = (tf.backend() as any).wasm;
  console.log(Object.keys(w).filter(k => !k.startsWith('_') || k.length < 12).join(' '));
  console.log(typeof w.wasmMemory, typeof w.asm, w.asm && Object.keys(w.asm).slice(0,5), w.HEAPF32.buffer.byteLength);
}
main();
