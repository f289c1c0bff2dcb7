// A small seeded generator (sfc32) so that every fuzz case is reproducible from
// (seed, reader, index) alone: a failure report is a command line, not a file.

export class Rng {
  private a: number; private b: number; private c: number; private d: number;

  constructor(...seeds: Array<number | string>) {
    // Mix every seed part into four 32-bit words, then warm up the state.
    let h = 0x811c9dc5;
    const mix = (x: number) => { h = Math.imul(h ^ x, 0x01000193) >>> 0; h ^= h >>> 13; };
    for (const s of seeds) {
      if (typeof s === 'number') { mix(s & 0xffffffff); mix(Math.floor(s / 2 ** 32)); }
      else for (let i = 0; i < s.length; i++) mix(s.charCodeAt(i));
    }
    this.a = h; mix(1); this.b = h; mix(2); this.c = h; mix(3); this.d = h;
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 2 ** 32) * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Picks by weight: [[weight, value], ...]. */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T {
    const total = items.reduce((s, [w]) => s + w, 0);
    let r = (this.u32() / 2 ** 32) * total;
    for (const [w, v] of items) { if ((r -= w) < 0) return v; }
    return items[items.length - 1][1];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}
