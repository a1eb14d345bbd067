/**
 * A small seeded PRNG (sfc32) whose whole state is four uint32s, so a run can save and
 * restore it exactly. Used for data order, weight init, dropout seeds and sampling.
 */
export type RngState = [number, number, number, number];

export class Rng {
  private s: Uint32Array;

  constructor(seed: number | RngState) {
    if (Array.isArray(seed)) {
      this.s = Uint32Array.from(seed);
      return;
    }
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    // splitmix32 spreads any integer seed (0 included) over the four words.
    let x = Math.trunc(seed) >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s = Uint32Array.of(next(), next(), next(), next());
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniform uint32. */
  nextUint32(): number {
    const s = this.s;
    const t = (((s[0] + s[1]) >>> 0) + s[3]) >>> 0;
    s[3] = (s[3] + 1) >>> 0;
    s[0] = s[1] ^ (s[1] >>> 9);
    s[1] = (s[2] + (s[2] << 3)) >>> 0;
    s[2] = ((s[2] << 21) | (s[2] >>> 11)) >>> 0;
    s[2] = (s[2] + t) >>> 0;
    return t;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`int(n) needs a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** A standard normal draw (Box–Muller). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]: log(u) is finite
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  getState(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }
}

/** Independent purposes draw from independent streams of one user seed. */
export type SeedStream = 'init' | 'data' | 'dropout' | 'evalTrain' | 'evalVal';
const STREAM_SALT: Record<SeedStream, number> = {
  init: 0x1f123bb5,
  data: 0x5851f42d,
  dropout: 0x2545f491,
  evalTrain: 0x9e3779b9,
  evalVal: 0x7f4a7c15,
};

/** The seed of one stream: `train --seed S` and `batches --seed S` see the same data order. */
export function streamSeed(seed: number, stream: SeedStream): number {
  return (Math.imul((seed >>> 0) ^ STREAM_SALT[stream], 0x27d4eb2d) ^ STREAM_SALT[stream]) >>> 0;
}
