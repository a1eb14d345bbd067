/**
 * Train/val split and minibatches (getBatch), by random sampling or sequential partitioning.
 * Targets are the inputs shifted by one character. Everything is seeded and its state can be
 * saved and restored, so a run's data order is reproducible.
 */
import type { Sampling } from './config.ts';
import { Rng, type RngState } from './rng.ts';

export const TRAIN_FRACTION = 0.9;

/** One minibatch: row r is x[r*T .. r*T+T), its targets y are the next characters. */
export interface Batch {
  x: Int32Array; // [B*T] input ids, row-major
  y: Int32Array; // [B*T] target ids: y[r*T+j] = data[starts[r]+j+1]
  starts: number[]; // [B] offset of each row in its split
  epoch: number; // sequential: which pass over the split (random: always 0)
}

/** The fewest characters a corpus needs so both splits hold one context plus its target. */
export function minCorpusLength(blockSize: number): number {
  const need = blockSize + 1;
  // The val split is n - floor(0.9·n) ≤ 0.1·n + 1 characters, so no n below 10·(need - 1) has
  // room: start there and step up past floor()'s rounding (a few iterations, for any context).
  let n = Math.max(need, 10 * (need - 1) - 10);
  while (n - Math.floor(n * TRAIN_FRACTION) < need || Math.floor(n * TRAIN_FRACTION) < need) n++;
  return n;
}

/** The first 90% of the corpus trains, the last 10% is held out. */
export function splitTrainVal(ids: Int32Array, blockSize: number): { train: Int32Array; val: Int32Array } {
  const nTrain = Math.floor(ids.length * TRAIN_FRACTION);
  const train = ids.subarray(0, nTrain);
  const val = ids.subarray(nTrain);
  checkSplit(train.length, val.length, blockSize);
  return { train, val };
}

/** Throws unless each split holds one full context plus the target after it. */
export function checkSplit(trainLength: number, valLength: number, blockSize: number) {
  const need = blockSize + 1;
  if (trainLength < need || valLength < need) {
    throw new Error(
      `the corpus has ${trainLength + valLength} characters: too short for a context of ${blockSize}. ` +
        `Its 10% validation split must hold ${need} characters, so the corpus needs at least ${minCorpusLength(blockSize)}.`,
    );
  }
}

/** Where the batcher is, so a resumed run draws the same batches. */
export interface BatcherState {
  rng: RngState;
  epoch: number; // sequential: passes started
  offset: number; // sequential: this epoch's random start
  cursor: number; // sequential: minibatches taken this epoch
}

export class Batcher {
  private rng: Rng;
  private epoch = 0;
  private offset = 0;
  private cursor = 0;

  constructor(
    readonly data: Int32Array,
    readonly batchSize: number,
    readonly blockSize: number,
    readonly sampling: Sampling,
    seed: number,
  ) {
    const need = sampling === 'sequential' ? batchSize * blockSize + 1 : blockSize + 1;
    if (data.length < need) {
      throw new Error(
        sampling === 'sequential'
          ? `sequential partitioning into ${batchSize} streams of ${blockSize} characters needs a training split of at least ${need} characters; it has ${data.length}. Use a smaller batch or context, or random sampling.`
          : `a context of ${blockSize} needs a training split of at least ${need} characters; it has ${data.length}.`,
      );
    }
    this.rng = new Rng(seed);
    if (sampling === 'sequential') this.startEpoch();
  }

  /** Sequential: stream length L and minibatches per epoch for the current offset. */
  private get streamLength(): number {
    return Math.floor((this.data.length - this.offset - 1) / this.batchSize);
  }

  get batchesPerEpoch(): number {
    return this.sampling === 'sequential'
      ? Math.floor(this.streamLength / this.blockSize)
      : Math.floor((this.data.length - 1) / (this.batchSize * this.blockSize));
  }

  private startEpoch() {
    // A random start in [0, T] (bounded so B*T characters still fit) shifts where the
    // streams cut the text, so each epoch sees different context boundaries.
    const slack = this.data.length - 1 - this.batchSize * this.blockSize;
    this.offset = this.rng.int(Math.min(this.blockSize, slack) + 1);
    this.cursor = 0;
  }

  /** The next minibatch. */
  getBatch(): Batch {
    const B = this.batchSize;
    const T = this.blockSize;
    const starts: number[] = new Array(B);
    if (this.sampling === 'random') {
      // Every row starts anywhere a full context and its target fit; rows are independent.
      for (let r = 0; r < B; r++) starts[r] = this.rng.int(this.data.length - T);
    } else {
      if (this.cursor >= this.batchesPerEpoch) {
        this.epoch++;
        this.startEpoch();
      }
      // The split is cut into B streams of length L; row r of batch t reads stream r at t*T,
      // so row r of batch t+1 starts where row r of batch t ended.
      const L = this.streamLength;
      for (let r = 0; r < B; r++) starts[r] = this.offset + r * L + this.cursor * T;
      this.cursor++;
    }
    return { ...gather(this.data, starts, T), starts, epoch: this.epoch };
  }

  getState(): BatcherState {
    return { rng: this.rng.getState(), epoch: this.epoch, offset: this.offset, cursor: this.cursor };
  }

  setState(s: BatcherState) {
    this.rng = new Rng(s.rng);
    this.epoch = s.epoch;
    this.offset = s.offset;
    this.cursor = s.cursor;
  }
}

/** Copies rows of T inputs and their shifted targets out of `data`. */
export function gather(data: Int32Array, starts: number[], T: number): { x: Int32Array; y: Int32Array } {
  const x = new Int32Array(starts.length * T);
  const y = new Int32Array(starts.length * T);
  starts.forEach((s, r) => {
    x.set(data.subarray(s, s + T), r * T);
    y.set(data.subarray(s + 1, s + T + 1), r * T);
  });
  return { x, y };
}

/** `count` random minibatches drawn once from a seed: the fixed batches estimateLoss reuses. */
export function fixedBatches(data: Int32Array, batchSize: number, blockSize: number, count: number, seed: number): Batch[] {
  const batcher = new Batcher(data, batchSize, blockSize, 'random', seed);
  return Array.from({ length: count }, () => batcher.getBatch());
}
