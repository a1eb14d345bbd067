/**
 * A decoder-only character transformer (GPT) in TensorFlow.js, one file, read top-down.
 *
 * Follows nanoGPT's model.py with bias=False (Karpathy, github.com/karpathy/nanoGPT), itself
 * GPT-2 (Radford et al. 2019): token + learned position embeddings, nLayer pre-LayerNorm
 * blocks of causal multi-head self-attention and a 4× GELU MLP, a final LayerNorm, and an
 * output head tied to the token embedding. No biases anywhere. Init N(0, 0.02), residual
 * projections scaled by 1/√(2·nLayer).
 *
 * Written for tfjs on WebGPU (see the traps in the project notes):
 * - activations are 2-D [B*T, C] before every linear layer (a 3-D × 2-D matMul trains wrong);
 * - the embedding is oneHot(int32) → cast → matMul: a dense, deterministic gradient that also
 *   exists on wasm (gather's gradient does not, and uses float atomics on webgpu);
 * - the causal mask is one constant additive [T, T] bias of 0 / -1e9, never -Infinity.
 * Which arithmetic runs the layers is chosen once per pass (model-ops.ts, as nanoGPT chooses
 * `if self.flash:` once): custom WGSL kernels on webgpu, XNNPACK products on wasm, plain tfjs ops
 * (ops.ts) on cpu and webgl and wherever a pass needs what the fast ones do not keep. A pass has
 * one explicit mode: train, eval, inspect, prefill or decode.
 * Weights are stored as tfjs uses them, [in, out]; PyTorch's Linear is [out, in].
 *
 * Sampling can go one position at a time over a KV cache (a fixed-capacity store of every layer's
 * keys and values): `forward` with a cache is the prefill, `step` adds one position. Both have a
 * fixed shape whatever the length, so the GPU buffer pool never sees a new size.
 */
import * as tf from '@tensorflow/tfjs';
import { assertValid, validateModelConfig, type ModelConfig } from '../src/core/config.ts';
import { Rng, streamSeed } from '../src/core/rng.ts';
import { attendStep } from './kernels/attend-step.ts';
import { opsFor, plainOps, type ModelOps } from './model-ops.ts';
import * as ops from './ops.ts';

export type { ModelConfig };

/** Names follow nanoGPT's state_dict, so checkpoints map one to one. */
export type ParamName =
  | 'transformer.wte.weight'
  | 'transformer.wpe.weight'
  | `transformer.h.${number}.ln_1.weight`
  | `transformer.h.${number}.attn.c_attn.weight`
  | `transformer.h.${number}.attn.c_proj.weight`
  | `transformer.h.${number}.ln_2.weight`
  | `transformer.h.${number}.mlp.c_fc.weight`
  | `transformer.h.${number}.mlp.c_proj.weight`
  | 'transformer.ln_f.weight';

type Vector = tf.Variable<tf.Rank.R1>;
type Matrix = tf.Variable<tf.Rank.R2>;

interface BlockParams {
  ln1: Vector; // [C]
  cAttn: Matrix; // [C, 3C] fused query, key, value
  attnProj: Matrix; // [C, C]
  ln2: Vector; // [C]
  cFc: Matrix; // [C, 4C]
  mlpProj: Matrix; // [4C, C]
}

/** What forward needs beyond the input: dropout is on only while training. */
export interface ForwardOptions {
  training: boolean;
  rng?: Rng; // seeds the dropout masks; required when training with dropout > 0
  fusedKernels?: boolean; // the backend's fast ops (default true: model-ops.ts); false: plain tfjs ops
  attention?: tf.Tensor4D[]; // collects each layer's attention weights (B, nh, T, T) in order; the plain ops only (see inspect)
}

/** One layer's share of a KV cache: (1, nh, blockSize, hs) each, one row per position. */
export interface LayerKV {
  k: tf.Variable<tf.Rank.R4>;
  v: tf.Variable<tf.Rank.R4>;
}

/** What a forward pass is for: it decides dropout and the attention path. */
type Mode =
  | { kind: 'train'; rng?: Rng } // dropout on
  | { kind: 'eval' }
  | { kind: 'inspect'; attention: tf.Tensor4D[] } // plain ops, each layer's attention weights collected
  | { kind: 'prefill'; cache: KVCache } // one sequence, every position's key and value stored
  | { kind: 'decode'; cache: KVCache; pos: number; write: tf.Tensor2D | null }; // one position; write: its cache rows [nh, 3] for the plain ops, null where the attend-step kernel writes them

/** What every layer of one forward pass shares. */
interface Pass {
  B: number; // batch
  T: number; // sequence length, ≤ blockSize
  nHead: number;
  mask: tf.Tensor2D; // [T, T] additive causal mask; [1, blockSize] for one decoded position
  rate: number; // dropout rate
  ops: ModelOps; // chosen once for the pass
  mode: Mode;
}

// ---------------------------------------------------------------------------------------------
// Layers: plain functions of tensors, so the whole forward pass reads in one place.

function dropout<T extends tf.Tensor>(x: T, pass: Pass): T {
  if (pass.mode.kind !== 'train' || pass.rate === 0) return x;
  if (!pass.mode.rng) throw new Error('dropout while training needs an rng');
  return tf.dropout(x, pass.rate, undefined, pass.mode.rng.nextUint32()) as T;
}

/**
 * Causal multi-head self-attention of layer `layer`. x: [B*T, C] → [B*T, C]. A training pass
 * without attention dropout, or an evaluation, runs the backend's attention (one dispatch on
 * webgpu, XNNPACK products on wasm); the others go through the heads in plain ops: dropout on the
 * weights, the weights collected for inspect, or a KV cache stored (prefill) or read (decode).
 */
function causalSelfAttention(x: tf.Tensor2D, p: BlockParams, pass: Pass, layer: number): tf.Tensor2D {
  const { B, T, nHead, mode } = pass;
  const qkv = pass.ops.linear(x, p.cAttn); // [B*T, 3C]
  if (mode.kind === 'decode' && mode.write === null)
    // One dispatch stores this position's key and value and attends over the cache.
    return pass.ops.linear(attendStep(qkv, mode.cache.layers[layer], mode.pos, nHead), p.attnProj);
  if ((mode.kind === 'train' && pass.rate === 0) || mode.kind === 'eval')
    return dropout(pass.ops.linear(pass.ops.causalAttention(qkv, T, nHead, pass.mask), p.attnProj), pass);
  const [q, kNew, vNew] = ops.splitHeads(qkv, B, T, nHead); // (B, nh, T, hs)
  if (mode.kind === 'prefill') storeInCache(mode.cache.layers[layer], kNew, vNew);
  // Decoding attends over the whole cache with this position written in: (B, nh, blockSize, hs).
  const [k, v] = mode.kind === 'decode' ? writeToCache(mode.cache.layers[layer], kNew, vNew, mode.write!) : [kNew, vNew];
  // Position t attends to positions ≤ t only (mask [T, T]; decoding: [1, blockSize], the rows past pos hidden).
  const y = ops.attend(q, k, v, pass.mask, (w) => {
    if (mode.kind === 'inspect') mode.attention.push(w); // (B, nh, T, T): what inspect shows
    return dropout(w, pass);
  }); // (B, nh, T, hs)
  return dropout(pass.ops.linear(ops.mergeHeads(y), p.attnProj), pass); // heads side by side again: [B*T, C]
}

/** A prefill's keys and values, (1, nh, T, hs), into a layer's cache, zero-padded to blockSize rows. */
function storeInCache(kv: LayerKV, k: tf.Tensor4D, v: tf.Tensor4D) {
  const rows = kv.k.shape[2] - k.shape[2]; // blockSize - T
  const padded = (t: tf.Tensor4D): tf.Tensor4D =>
    rows > 0
      ? t.pad([
          [0, 0],
          [0, 0],
          [0, rows],
          [0, 0],
        ])
      : t;
  kv.k.assign(padded(k)); // (1, nh, blockSize, hs)
  kv.v.assign(padded(v));
}

/**
 * One decoded position's key and value, (1, nh, 1, hs), written into row pos of every head (a
 * scatter at `write`: an exact copy, and the shape never changes); the whole cache is attended over.
 */
function writeToCache(kv: LayerKV, k: tf.Tensor4D, v: tf.Tensor4D, write: tf.Tensor2D): [tf.Tensor4D, tf.Tensor4D] {
  const [, nh, , hs] = k.shape;
  kv.k.assign(tf.tensorScatterUpdate(kv.k, write, k.reshape([nh, hs]))); // (1, nh, blockSize, hs)
  kv.v.assign(tf.tensorScatterUpdate(kv.v, write, v.reshape([nh, hs])));
  return [kv.k, kv.v];
}

/** The MLP: C → 4C → GELU → C. x: [B*T, C] → [B*T, C]. */
function mlp(x: tf.Tensor2D, p: BlockParams, pass: Pass): tf.Tensor2D {
  const h = pass.ops.gelu(pass.ops.linear(x, p.cFc)); // [B*T, 4C]
  return dropout(pass.ops.linear(h, p.mlpProj), pass);
}

/** A pre-LayerNorm transformer block: x + attn(ln(x)), then + mlp(ln(x)). */
function block(x: tf.Tensor2D, p: BlockParams, pass: Pass, layer: number): tf.Tensor2D {
  x = x.add(causalSelfAttention(pass.ops.layerNorm(x, p.ln1), p, pass, layer));
  return x.add(mlp(pass.ops.layerNorm(x, p.ln2), p, pass));
}

// ---------------------------------------------------------------------------------------------
// The model.

/** An N(0, std) weight matrix [rows, cols] drawn from our own seeded RNG, identical on every backend. */
function normalInit(rng: Rng, [rows, cols]: [number, number], std: number): Matrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
  return toVariable(tf.tensor2d(data, [rows, cols], 'float32')) as Matrix;
}

function onesInit(n: number): Vector {
  return toVariable(tf.ones([n], 'float32')) as Vector;
}

/** A variable from a fresh tensor; the tensor itself is freed (tf.variable keeps its own reference). */
export function toVariable(t: tf.Tensor, trainable = true): tf.Variable {
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
}

export class GPT {
  readonly config: ModelConfig;
  readonly wte: Matrix; // [V, C] token embedding, also the output head
  readonly wpe: Matrix; // [blockSize, C] position embedding
  readonly blocks: BlockParams[];
  readonly lnF: Vector; // [C]
  /** Every parameter in a fixed order with its nanoGPT name: optimizers and checkpoints rely on it. */
  readonly params: ReadonlyArray<{ name: ParamName; variable: tf.Variable }>;
  private readonly masks = new Map<number, tf.Tensor2D>();

  /** `seed` is the run's seed; the weights draw from its 'init' stream. */
  constructor(config: ModelConfig, seed: number) {
    this.config = { ...assertValid(config, validateModelConfig(config), 'model config') };
    const { vocabSize: V, blockSize, nLayer, nEmbd: C } = this.config;
    const rng = new Rng(streamSeed(seed, 'init'));
    const std = 0.02;
    const residualStd = std / Math.sqrt(2 * nLayer); // GPT-2: keeps the residual stream's variance in check
    this.wte = normalInit(rng, [V, C], std);
    this.wpe = normalInit(rng, [blockSize, C], std);
    this.blocks = Array.from({ length: nLayer }, () => ({
      ln1: onesInit(C),
      cAttn: normalInit(rng, [C, 3 * C], std),
      attnProj: normalInit(rng, [C, C], residualStd),
      ln2: onesInit(C),
      cFc: normalInit(rng, [C, 4 * C], std),
      mlpProj: normalInit(rng, [4 * C, C], residualStd),
    }));
    this.lnF = onesInit(C);
    this.params = [
      { name: 'transformer.wte.weight', variable: this.wte },
      { name: 'transformer.wpe.weight', variable: this.wpe },
      ...this.blocks.flatMap((b, i) => [
        { name: `transformer.h.${i}.ln_1.weight` as const, variable: b.ln1 },
        { name: `transformer.h.${i}.attn.c_attn.weight` as const, variable: b.cAttn },
        { name: `transformer.h.${i}.attn.c_proj.weight` as const, variable: b.attnProj },
        { name: `transformer.h.${i}.ln_2.weight` as const, variable: b.ln2 },
        { name: `transformer.h.${i}.mlp.c_fc.weight` as const, variable: b.cFc },
        { name: `transformer.h.${i}.mlp.c_proj.weight` as const, variable: b.mlpProj },
      ]),
      { name: 'transformer.ln_f.weight', variable: this.lnF },
    ];
  }

  /** The additive causal mask for length T, built once and kept outside any tidy. */
  private causalMask(T: number): tf.Tensor2D {
    let mask = this.masks.get(T);
    if (!mask) this.masks.set(T, (mask = tf.keep(ops.causalMask(T))));
    return mask;
  }

  /**
   * Token ids [B, T] (int32, T ≤ blockSize) → logits [B*T, V]. With a cache (B = 1, not
   * training), also stores every position's key and value in it: the prefill of sampling.
   */
  forward(idx: tf.Tensor2D, opts: ForwardOptions = { training: false }, cache?: KVCache): tf.Tensor2D {
    const [B, T] = idx.shape;
    const { vocabSize: V, blockSize, nEmbd: C, nHead, dropout: rate } = this.config;
    if (T > blockSize) throw new Error(`cannot forward a sequence of ${T}: the context is ${blockSize}`);
    if (idx.dtype !== 'int32') throw new Error('token ids must be int32');
    if (cache && (B !== 1 || opts.training)) throw new Error('a KV cache holds one sequence, for sampling only');
    const mode: Mode = cache
      ? { kind: 'prefill', cache }
      : opts.attention
        ? { kind: 'inspect', attention: opts.attention }
        : opts.training
          ? { kind: 'train', rng: opts.rng }
          : { kind: 'eval' };
    // The fused kernels never store the T×T weights that inspect shows: it runs the plain ops.
    const pass: Pass = {
      B,
      T,
      nHead,
      mask: this.causalMask(T),
      rate,
      mode,
      ops: mode.kind === 'inspect' ? plainOps : opsFor(opts.fusedKernels),
    };
    const tok = pass.ops.embed(tf.oneHot(idx.reshape([B * T]), V).cast('float32') as tf.Tensor2D, this.wte); // [B*T, C]
    const pos = this.wpe.slice([0, 0], [T, C]); // [T, C]
    let x = tok
      .reshape([B, T, C])
      .add(pos)
      .reshape([B * T, C]) as tf.Tensor2D; // [B*T, C]
    x = dropout(x, pass);
    for (const [i, p] of this.blocks.entries()) x = block(x, p, pass, i);
    if (cache) cache.filledWith(this);
    x = pass.ops.layerNorm(x, this.lnF);
    return pass.ops.linearTransposed(x, this.wte); // [B*T, V]: the head is the embedding, transposed
  }

  /**
   * The forward pass with what happens inside it: logits [B*T, V] and every layer's attention
   * weights, (B, nh, T, T) each, row t the softmax over keys 0..t that query t attends with
   * (zero above the diagonal). In plain tfjs ops on every backend, since the fused kernels never
   * store the T×T weights: for looking inside (one short batch), not for training. Call it
   * inside tf.tidy, which keeps the returned tensors.
   */
  inspect(idx: tf.Tensor2D): { logits: tf.Tensor2D; attention: tf.Tensor4D[] } {
    const attention: tf.Tensor4D[] = [];
    const logits = this.forward(idx, { training: false, fusedKernels: false, attention });
    return { logits, attention };
  }

  /**
   * One position of sampling over a KV cache: the token at position `pos` → logits [1, V].
   * Stores its key and value at row `pos` of every layer's cache and attends to rows ≤ pos,
   * which a prefill or earlier steps filled. The same math as `forward` at that position;
   * `pos` reaches the device as data, so every step has the same shapes and kernels.
   */
  step(token: number, pos: number, cache: KVCache, { fusedKernels }: { fusedKernels?: boolean } = {}): tf.Tensor2D {
    const { vocabSize: V, blockSize, nHead } = this.config;
    if (!Number.isInteger(pos) || pos < 0 || pos >= blockSize)
      throw new RangeError(`position ${pos} is outside the context of ${blockSize}`);
    if (pos === 0) cache.filledWith(this);
    else if (!cache.current(this)) throw new Error('the weights changed since the KV cache was filled: prefill it again');
    const at = tf.tensor1d([pos], 'int32');
    const modelOps = opsFor(fusedKernels);
    // The attend-step kernel masks and writes by pos itself; the plain ops need the rows and the mask as tensors.
    const kernel = modelOps.decodesInOneStep(blockSize);
    const pass: Pass = {
      B: 1,
      T: 1,
      nHead,
      mask: kernel ? this.causalMask(1) : (tf.gather(this.causalMask(blockSize), at) as tf.Tensor2D), // [1, blockSize]: -1e9 past pos
      rate: 0,
      ops: modelOps,
      mode: {
        kind: 'decode',
        cache,
        pos,
        write: kernel
          ? null
          : tf.tensor2d(
              Array.from({ length: nHead }, (_, h) => [0, h, pos]),
              [nHead, 3],
              'int32',
            ), // where k, v go
      },
    };
    const tok = modelOps.embed(tf.oneHot(tf.tensor1d([token], 'int32'), V).cast('float32') as tf.Tensor2D, this.wte); // [1, C]
    let x = tok.add(tf.gather(this.wpe, at)) as tf.Tensor2D; // [1, C]
    for (const [i, p] of this.blocks.entries()) x = block(x, p, pass, i);
    x = modelOps.layerNorm(x, this.lnF);
    return modelOps.linearTransposed(x, this.wte); // [1, V]
  }

  /** Mean cross-entropy in nats. logits [N, V], targets [N] int32 → scalar. */
  loss(logits: tf.Tensor2D, targets: tf.Tensor1D, opts: { fusedKernels?: boolean } = {}): tf.Scalar {
    return opsFor(opts.fusedKernels).crossEntropy(logits, targets);
  }

  /** An empty KV cache for this model's shapes. */
  kvCache(): KVCache {
    return new KVCache(this.config);
  }

  /** A copy of every parameter's values, in `params` order (a checkpoint's, or a point measured on another job). */
  async weights(): Promise<Float32Array<ArrayBuffer>[]> {
    // A copy: the cpu backend hands back the tensor's own storage, which the next step overwrites.
    return Promise.all(this.params.map(async ({ variable }) => Float32Array.from(await variable.data())));
  }

  /** Sets every parameter from values in `params` order, as weights() gives them. */
  setWeights(weights: readonly Float32Array[]) {
    if (weights.length !== this.params.length) throw new Error(`${weights.length} weights for ${this.params.length} parameters`);
    tf.tidy(() => this.params.forEach(({ variable }, i) => variable.assign(tf.tensor(weights[i], variable.shape, 'float32'))));
  }

  /** Frees every parameter and the cached masks. */
  dispose() {
    for (const { variable } of this.params) variable.dispose();
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }
}

/**
 * A KV cache for sampling: every layer's keys and values, (1, nh, blockSize, hs) each,
 * allocated once and rewritten in place by `forward` (the prefill) and `step`, so its size never
 * changes. It also remembers which weights filled it: training assigns new weight tensors, and
 * keys computed from old weights must not be mixed with new ones.
 */
export class KVCache {
  readonly layers: LayerKV[];
  private weights: object[] = []; // the parameters' data ids when the cache was filled

  constructor({ nLayer, nHead, nEmbd: C, blockSize }: ModelConfig) {
    const shape = [1, nHead, blockSize, C / nHead];
    this.layers = Array.from({ length: nLayer }, () => ({
      k: toVariable(tf.zeros(shape), false) as tf.Variable<tf.Rank.R4>,
      v: toVariable(tf.zeros(shape), false) as tf.Variable<tf.Rank.R4>,
    }));
  }

  /** Records the weights a prefill used. */
  filledWith(model: GPT) {
    this.weights = model.params.map((p) => p.variable.dataId);
  }

  /** Whether the model still has the weights the cache was filled with. */
  current(model: GPT): boolean {
    return this.weights.length === model.params.length && model.params.every((p, i) => p.variable.dataId === this.weights[i]);
  }

  dispose() {
    for (const { k, v } of this.layers) {
      k.dispose();
      v.dispose();
    }
  }
}
