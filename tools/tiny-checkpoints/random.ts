/** A seeded generator (mulberry32) with normal draws, so tiny checkpoints are the same on every machine. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let x = this.state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
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
