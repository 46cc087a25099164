import * as fs from 'fs';
import { packagePath } from '../build-artifacts';

/** A norm's gradient: dx for its output's gradient dy over the rows of x [rows, width]. */
type NormGradient = (
  x: Float32Array,
  dy: Float32Array,
  width: number,
  weight: Float32Array,
  eps: number,
  dx: Float32Array,
) => void;

/**
 * What build/lonas_blas.node exports: OpenBLAS's products (src/backend/native/blas.cc),
 * float32 kernels for the cpu backend (elementwise.cc), fused norms and activations with their
 * gradients (fused.cc) and fused attention (attention.cc).
 */
export interface BlasAddon {
  /** C_i = op(A_i) op(B_i) for every i, each operand at an element offset into its array. */
  sgemmBatch(
    transposeA: boolean,
    transposeB: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    aOffsets: Int32Array,
    bOffsets: Int32Array,
    cOffsets: Int32Array,
  ): void;
  /**
   * C[m, n] = A[m, k] op(B) + beta C, row-major, each operand at an element offset with a row
   * stride; B is [k, n], or [n, k] and transposed.
   */
  sgemm(
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    aOffset: number,
    lda: number,
    b: Float32Array,
    bOffset: number,
    ldb: number,
    c: Float32Array,
    cOffset: number,
    ldc: number,
    beta: number,
    transposeB: boolean,
  ): void;
  /** out = a (op) b with broadcasting; op indexes BINARY_OPS. */
  binary(
    op: number,
    a: Float32Array,
    aShape: number[],
    b: Float32Array,
    bShape: number[],
    out: Float32Array,
    outShape: number[],
  ): void;
  /** out = op(x) elementwise; op indexes UNARY_OPS. */
  unary(op: number, x: Float32Array, out: Float32Array): void;
  /** x as [outer, reduced, inner] reduced over the middle axis into out [outer, inner]; op indexes REDUCE_OPS. */
  reduce(op: number, x: Float32Array, outer: number, reduced: number, inner: number, out: Float32Array): void;
  /** Softmax over each row of x [rows, columns]. */
  softmax(x: Float32Array, rows: number, columns: number, out: Float32Array): void;
  /** The box of x [shape] at begin of size `size`. */
  slice(x: Float32Array, shape: number[], begin: number[], size: number[], out: Float32Array): void;
  /** out's axis i is x's axis perm[i]. */
  transpose(x: Float32Array, shape: number[], perm: number[], out: Float32Array): void;
  /** out [outShape] filled with value, x [shape] copied in at offsets `before`. */
  pad(x: Float32Array, shape: number[], before: number[], outShape: number[], value: number, out: Float32Array): void;
  /**
   * Sum over rows with a target >= 0 of logsumexp(row) - row[target], each such row's logsumexp
   * written to logSumExp [rows].
   */
  crossEntropy(x: Float32Array, rows: number, columns: number, targets: Int32Array, logSumExp: Float64Array): number;
  /** (softmax - onehot) * scale into grad from crossEntropy's logSumExp; zeros for rows without a target. */
  crossEntropyGrad(
    x: Float32Array,
    rows: number,
    columns: number,
    targets: Int32Array,
    logSumExp: Float64Array,
    scale: number,
    grad: Float32Array,
  ): void;
  /**
   * out = softmax(scale q k^T + bias) v per (batch, head), attention.cc; shape is [batch, heads,
   * kvHeads, queries, keys, headDim], and the bias is mask [batch, queries, keys] (or empty) plus
   * slopes[h] * keyPositions[b, k] where slopes are given (or empty).
   */
  attention(
    shape: number[],
    scale: number,
    q: HeadsView,
    k: HeadsView,
    v: HeadsView,
    mask: Float32Array,
    slopes: Float32Array,
    keyPositions: Float32Array,
    out: HeadsView,
  ): void;
  /** attention's gradients for dOut into dq, dk and dv (laid out as q, k and v). */
  attentionGrad(
    shape: number[],
    scale: number,
    q: HeadsView,
    k: HeadsView,
    v: HeadsView,
    mask: Float32Array,
    slopes: Float32Array,
    keyPositions: Float32Array,
    dOut: HeadsView,
    dq: HeadsView,
    dk: HeadsView,
    dv: HeadsView,
  ): void;
  /** out = LayerNorm over each row of x [rows, width]: (x - mean) / sqrt(var + eps) * weight + bias. */
  layerNorm(
    x: Float32Array,
    width: number,
    weight: Float32Array,
    bias: Float32Array,
    eps: number,
    out: Float32Array,
  ): void;
  /** dx of layerNorm for its output's gradient dy, weight and bias frozen. */
  layerNormGrad: NormGradient;
  /** out = RMSNorm over each row of x [rows, width]: x / sqrt(mean(x^2) + eps) * weight. */
  rmsNorm(x: Float32Array, width: number, weight: Float32Array, eps: number, out: Float32Array): void;
  /** dx of rmsNorm for its output's gradient dy, weight frozen. */
  rmsNormGrad: NormGradient;
  /** out = silu(gate) * up. */
  swiglu(gate: Float32Array, up: Float32Array, out: Float32Array): void;
  /** The gradients of swiglu for its output's gradient dy. */
  swigluGrad(gate: Float32Array, up: Float32Array, dy: Float32Array, dGate: Float32Array, dUp: Float32Array): void;
  /** out = GELU(x): the exact erf form, or the tanh approximation where `tanh`. */
  gelu(x: Float32Array, tanh: boolean, out: Float32Array): void;
  /** dx = dy * GELU'(x), the form as for gelu. */
  geluGrad(x: Float32Array, tanh: boolean, dy: Float32Array, dx: Float32Array): void;
  /**
   * Each head of each row of x [rows, width] rotated by angle sign * theta(positions[row]) into
   * out (may be x), cos and sin being [maxPositions, headDim] tables in Hugging Face's half-split layout.
   */
  rotary(
    x: Float32Array,
    width: number,
    headDim: number,
    cos: Float32Array,
    sin: Float32Array,
    positions: Int32Array,
    sign: number,
    out: Float32Array,
  ): void;
  /** Makes glibc keep freed memory for reuse instead of unmapping it; false where it refused. */
  retainFreedMemory(): boolean;
  setThreads(threads: number): void;
  threads(): number;
  config(): string;
}

/** Heads of a [batch, time, ...] array: element (b, t, h, j) at data[offset + (b * time + t) * rowStride + h * headStride + j]. */
export interface HeadsView {
  data: Float32Array;
  offset: number;
  rowStride: number;
  headStride: number;
}

/** The operation codes of the addon's binary, unary and reduce, in elementwise.cc's order. */
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'squaredDifference', 'maximum', 'minimum'] as const;
export const UNARY_OPS = [
  'exp',
  'log',
  'neg',
  'sqrt',
  'rsqrt',
  'square',
  'sigmoid',
  'tanh',
  'abs',
  'reciprocal',
] as const;
export const REDUCE_OPS = ['sum', 'max', 'min'] as const;

let loaded: { addon?: BlasAddon; reason: string } | undefined;

/** Every function this version calls: an addon built by an older checkout lacks some. */
const FUNCTIONS = [
  'sgemmBatch',
  'sgemm',
  'binary',
  'unary',
  'reduce',
  'softmax',
  'slice',
  'transpose',
  'pad',
  'crossEntropy',
  'crossEntropyGrad',
  'attention',
  'attentionGrad',
  'layerNorm',
  'layerNormGrad',
  'rmsNorm',
  'rmsNormGrad',
  'swiglu',
  'swigluGrad',
  'gelu',
  'geluGrad',
  'rotary',
  'retainFreedMemory',
  'setThreads',
  'threads',
  'config',
] as const satisfies ReadonlyArray<keyof BlasAddon>;

/**
 * The OpenBLAS addon when it was built at install time and LONAS_BLAS is not `off`; otherwise
 * undefined and the reason, for the start-up line.
 */
export function blasAddon(): { addon?: BlasAddon; reason: string } {
  if (process.env.LONAS_BLAS === 'off') return { reason: 'LONAS_BLAS=off' };
  if (loaded !== undefined) return loaded;
  const file = packagePath('build', 'lonas_blas.node');
  if (!fs.existsSync(file)) {
    loaded = { reason: 'the OpenBLAS addon is not built (install libopenblas-dev, then npm run prepare)' };
  } else {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native addon built at install time
      const addon = require(file) as BlasAddon;
      const missing = FUNCTIONS.filter((name) => typeof addon[name] !== 'function');
      loaded =
        missing.length > 0
          ? { reason: `${file} is from an older lonas (no ${missing.join(', ')}): run npm run prepare` }
          : { addon, reason: `${addon.config().split(' ').slice(0, 2).join(' ')}, ${addon.threads()} threads` };
    } catch (error) {
      loaded = { reason: `${file} does not load: ${(error as Error).message.split('\n')[0]}` };
    }
  }
  return loaded;
}
