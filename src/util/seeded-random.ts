/**
 * A seeded generator (mulberry32) with normal draws: the same numbers on every machine, and a
 * state that can be saved and restored so a resumed run draws what the uninterrupted one would.
 */
export class SeededRandom {
  private value: number;

  constructor(seed: number) {
    this.value = seed >>> 0;
  }

  get state(): number {
    return this.value;
  }

  set state(value: number) {
    this.value = value >>> 0;
  }

  uniform(): number {
    this.value = (this.value + 0x6d2b79f5) >>> 0;
    let x = this.value;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.min(n - 1, Math.floor(this.uniform() * n));
  }

  /** Box-Muller. */
  normal(std = 1, mean = 0): number {
    const u = Math.max(this.uniform(), 1e-12);
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }

  normals(count: number, std: number, mean = 0): Float32Array {
    return Float32Array.from({ length: count }, () => this.normal(std, mean));
  }
}
