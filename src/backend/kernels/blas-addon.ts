import * as fs from 'fs';
import { packagePath } from '../build-artifacts';

/** What build/lonas_blas.node (src/backend/native/blas.cc) exports. */
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
  /** C[m, n] = A[m, k] B[k, n] + beta C, row-major, each operand at an element offset with a row stride. */
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
  ): void;
  setThreads(threads: number): void;
  threads(): number;
  config(): string;
}

let loaded: { addon?: BlasAddon; reason: string } | undefined;

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
      loaded = { addon, reason: `${addon.config().split(' ').slice(0, 2).join(' ')}, ${addon.threads()} threads` };
    } catch (error) {
      loaded = { reason: `${file} does not load: ${(error as Error).message.split('\n')[0]}` };
    }
  }
  return loaded;
}
