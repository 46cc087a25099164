import * as tf from '@tensorflow/tfjs-core';
import type { HeadsView } from '../backend/kernels/blas-addon';
import { filledHostTensors, hostView } from '../backend/host-view';
import { fusedAddon } from './host-fused';

/**
 * Attention's inputs in the projections' layout: q [batch, queries, heads * headDim], k and v
 * [batch, keys, kvHeads * headDim] (query head h reads key/value head h / (heads / kvHeads)); or
 * BLOOM's fused query_key_value [batch, time, heads * 3 * headDim], each head's q, k and v side by side.
 */
export type AttentionInputs = { q: tf.Tensor3D; k: tf.Tensor3D; v: tf.Tensor3D } | { qkv: tf.Tensor3D };

/**
 * The additive bias as host arrays (no gradient): `mask` [batch, queries, keys] (attentionBias's
 * values, or empty), plus slopes[h] * keyPositions[b, k] where `slopes` are given (ALiBi, else empty).
 */
export interface HostAttentionBias {
  mask: Float32Array;
  slopes: Float32Array;
  keyPositions: Float32Array;
}

/** Whether fusedAttention runs here: tensors in host memory and the native addon loaded. */
export function fusedAttentionAvailable(): boolean {
  return fusedAddon() !== undefined;
}

/** How the inputs' heads sit in their arrays (the gradients' arrays are laid out the same). */
interface Layout {
  tensors: tf.Tensor3D[];
  shape: [batch: number, heads: number, kvHeads: number, queries: number, keys: number, headDim: number];
  views(arrays: Float32Array[]): [q: HeadsView, k: HeadsView, v: HeadsView];
}

function layoutOf(inputs: AttentionInputs, headDim: number): Layout {
  const heads = (x: tf.Tensor3D, perHead: number) => x.shape[2] / perHead;
  if ('qkv' in inputs) {
    const [batch, time, width] = inputs.qkv.shape;
    const count = heads(inputs.qkv, 3 * headDim);
    const view = (data: Float32Array, part: number) => ({
      data,
      offset: part * headDim,
      rowStride: width,
      headStride: 3 * headDim,
    });
    return {
      tensors: [inputs.qkv],
      shape: [batch, count, count, time, time, headDim],
      views: ([data]) => [view(data, 0), view(data, 1), view(data, 2)],
    };
  }
  const { q, k, v } = inputs;
  const view = (data: Float32Array, x: tf.Tensor3D) => ({
    data,
    offset: 0,
    rowStride: x.shape[2],
    headStride: headDim,
  });
  return {
    tensors: [q, k, v],
    shape: [q.shape[0], heads(q, headDim), heads(k, headDim), q.shape[1], k.shape[1], headDim],
    views: ([qData, kData, vData]) => [view(qData, q), view(kData, k), view(vData, v)],
  };
}

/**
 * softmax(q k^T / sqrt(headDim) + bias) v as one operation with its own gradient, on the native
 * addon (attention.cc), returned [batch, queries, heads * headDim] as the output projection takes
 * it. tfjs's composition transposes the heads both ways and keeps the scores and probabilities,
 * [batch, heads, queries, keys] each, for its gradient; this keeps only its inputs and recomputes
 * the probabilities in the backward. Only where fusedAttentionAvailable().
 */
export function fusedAttention(inputs: AttentionInputs, headDim: number, bias: HostAttentionBias): tf.Tensor3D {
  const addon = fusedAddon();
  if (addon === undefined) throw new Error('fused attention: needs the native addon and host memory');
  const layout = layoutOf(inputs, headDim);
  const [batch, heads, , queries] = layout.shape;
  const width = heads * headDim;
  const outView = (data: Float32Array): HeadsView => ({ data, offset: 0, rowStride: width, headStride: headDim });
  const scale = 1 / Math.sqrt(headDim);
  const { mask, slopes, keyPositions } = bias;
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const tensors = args as tf.Tensor3D[];
    save(tensors);
    const [value] = filledHostTensors([[batch, queries, width]], ([out]) => {
      const [q, k, v] = layout.views(tensors.map(hostView));
      addon.attention(layout.shape, scale, q, k, v, mask, slopes, keyPositions, outView(out));
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor3D[]) =>
        filledHostTensors(
          saved.map((x) => x.shape),
          (grads) => {
            const [q, k, v] = layout.views(saved.map(hostView));
            const [dq, dk, dv] = layout.views(grads);
            const dOut = outView(hostView(dy));
            addon.attentionGrad(layout.shape, scale, q, k, v, mask, slopes, keyPositions, dOut, dq, dk, dv);
          },
        ),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...x: tf.Tensor3D[]) => tf.Tensor3D;
  return op(...layout.tensors);
}
