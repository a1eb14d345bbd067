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
 * On webgpu, LayerNorm, attention, GELU and the loss run as custom WGSL kernels (workers/kernels/),
 * each one or two GPU dispatches where tfjs would run a chain of ops. On wasm, the linear layers
 * and attention run as products XNNPACK takes (kernels/xnnpack.ts): tfjs-wasm runs a transposed
 * or batched matMul, which is all of tfjs's backward pass, in a scalar loop. The plain ops
 * (ops.ts) are what cpu and webgl run, and what both are tested against.
 * Weights are stored as tfjs uses them, [in, out]; PyTorch's Linear is [out, in].
 *
 * Sampling can go one position at a time over a KV cache (a fixed-capacity store of every layer's
 * keys and values): `forward` with a cache is the prefill, `step` adds one position. Both have a
 * fixed shape whatever the length, so the GPU buffer pool never sees a new size.
 */
import * as tf from '@tensorflow/tfjs';
import { assertValid, validateModelConfig, type ModelConfig } from '../src/core/config.ts';
import { Rng, streamSeed } from '../src/core/rng.ts';
import { fusedKernelsAvailable } from './kernels/adamw.ts';
import { attendStep, attendStepApplies } from './kernels/attend-step.ts';
import { causalAttention } from './kernels/attention.ts';
import { softmaxCrossEntropy } from './kernels/cross-entropy.ts';
import { gelu as geluKernel } from './kernels/gelu.ts';
import { layerNorm as layerNormKernel } from './kernels/layer-norm.ts';
import * as xnn from './kernels/xnnpack.ts';
import { xnnpackApplies } from './kernels/xnnpack.ts';
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

interface BlockParams {
  ln1: tf.Variable; // [C]
  cAttn: tf.Variable; // [C, 3C] fused query, key, value
  attnProj: tf.Variable; // [C, C]
  ln2: tf.Variable; // [C]
  cFc: tf.Variable; // [C, 4C]
  mlpProj: tf.Variable; // [4C, C]
}

/** What forward needs beyond the input: dropout is on only while training. */
export interface ForwardOptions {
  training: boolean;
  rng?: Rng; // seeds the dropout masks; required when training with dropout > 0
  fusedKernels?: boolean; // the backend's fast paths (default true): custom kernels on webgpu, XNNPACK-only products on wasm; false: plain tfjs ops
  attention?: tf.Tensor4D[]; // collects each layer's attention weights (B, nh, T, T) in order; the plain ops only (see inspect)
}

/** Whether a pass with these options runs the custom kernels. */
function fused(opts: { fusedKernels?: boolean; attention?: unknown }): boolean {
  return (opts.fusedKernels ?? true) && !opts.attention && fusedKernelsAvailable();
}

/** Whether a pass with these options runs the wasm backend's XNNPACK-only products. */
function xnnpack(opts: { fusedKernels?: boolean; attention?: unknown }): boolean {
  return (opts.fusedKernels ?? true) && !opts.attention && xnnpackApplies();
}

const LN_EPS = 1e-5;

// ---------------------------------------------------------------------------------------------
// Layers: plain functions of tensors, so the whole forward pass reads in one place.

/** LayerNorm without bias over the last axis: (x - mean) / √(var + eps) · g. x: [N, C]. */
function layerNorm(x: tf.Tensor2D, g: tf.Variable, pass: { opts: ForwardOptions }): tf.Tensor2D {
  if (fused(pass.opts)) return layerNormKernel(x, g as tf.Tensor1D, LN_EPS, true); // 1 dispatch, 2 backward
  if (xnnpack(pass.opts)) return xnn.layerNorm(x, g as tf.Tensor1D, LN_EPS); // the same ops, a gradient without slow reductions
  return ops.layerNorm(x, g as tf.Tensor1D, LN_EPS);
}

/** x·w for x: [N, K], w: [K, M]. On wasm, every product of it and of its gradient runs on XNNPACK. */
function linear(x: tf.Tensor2D, w: tf.Tensor, opts: ForwardOptions): tf.Tensor2D {
  return xnnpack(opts) ? xnn.linear(x, w as tf.Tensor2D) : tf.matMul(x, w as tf.Tensor2D);
}

/** x·wᵀ for x: [N, K], w: [M, K]: the output head, tied to the token embedding [V, C]. */
function linearTransposed(x: tf.Tensor2D, w: tf.Tensor, opts: ForwardOptions): tf.Tensor2D {
  return xnnpack(opts) ? xnn.linearTransposed(x, w as tf.Tensor2D) : tf.matMul(x, w as tf.Tensor2D, false, true);
}

/** Rows of the embedding w: [V, C] picked by one-hot rows [N, V] → [N, C]; only w gets a gradient. */
function embed(oneHot: tf.Tensor2D, w: tf.Tensor, opts: ForwardOptions): tf.Tensor2D {
  return xnnpack(opts) ? xnn.embed(oneHot, w as tf.Tensor2D) : tf.matMul(oneHot, w as tf.Tensor2D);
}

/** Exact GELU, x·Φ(x), as PyTorch's nn.GELU() computes it. x: [N, 4C]. */
function gelu(x: tf.Tensor2D, pass: { opts: ForwardOptions }): tf.Tensor2D {
  if (fused(pass.opts)) return geluKernel(x, true); // 1 dispatch, 1 backward
  if (xnnpack(pass.opts)) return xnn.gelu(x); // the same ops, a gradient without tfjs-wasm's slow Exp
  return ops.gelu(x);
}

/** One layer's share of a KV cache: (1, nh, blockSize, hs) each, one row per position. */
export interface LayerKV {
  k: tf.Variable<tf.Rank.R4>;
  v: tf.Variable<tf.Rank.R4>;
}

/** What every layer of one forward pass shares. */
interface Pass {
  B: number; // batch
  T: number; // sequence length, ≤ blockSize
  nHead: number;
  mask: tf.Tensor2D; // [T, T] additive causal mask; [1, blockSize] for one cached position
  rate: number; // dropout rate
  opts: ForwardOptions;
  pos?: number; // one cached position: its row in the cache
  write?: tf.Tensor2D; // one cached position in plain ops: [nh, 3] int32, the cache rows (0, h, pos) it fills; absent when the attend-step kernel writes them
}

function dropout<T extends tf.Tensor>(x: T, pass: Pass): T {
  if (!pass.opts.training || pass.rate === 0) return x;
  if (!pass.opts.rng) throw new Error('dropout while training needs an rng');
  return tf.dropout(x, pass.rate, undefined, pass.opts.rng.nextUint32()) as T;
}

/**
 * Causal multi-head self-attention. x: [B*T, C] → [B*T, C]. With a layer's KV cache (B = 1),
 * a prefill also stores every position's key and value; one new position (T = 1) stores its
 * own and attends over the cache instead.
 */
function causalSelfAttention(x: tf.Tensor2D, p: BlockParams, pass: Pass, kv?: LayerKV): tf.Tensor2D {
  const { B, T, nHead } = pass;
  const qkv = linear(x, p.cAttn, pass.opts); // [B*T, 3C]
  // One cached position on webgpu: one dispatch stores its key and value and attends over the cache.
  if (kv && pass.pos !== undefined && !pass.write)
    return linear(attendStep(qkv as tf.Tensor2D, kv, pass.pos, nHead), p.attnProj, pass.opts);
  // Without a cache or attention dropout, the fused kernel: one dispatch forward, one backward,
  // reading heads in place from qkv (no split, no transposes) and never storing the T×T weights.
  if (!kv && !(pass.opts.training && pass.rate > 0) && fused(pass.opts)) {
    const y = causalAttention(qkv, T, nHead, { fused: true }); // [B*T, C]
    return dropout(linear(y, p.attnProj, pass.opts), pass);
  }
  // On wasm, the same without the batched products tfjs-wasm runs in a scalar loop (xnnpack.ts).
  if (!kv && !(pass.opts.training && pass.rate > 0) && xnnpack(pass.opts)) {
    const y = xnn.causalAttention(qkv, T, nHead, pass.mask); // [B*T, C]
    return dropout(linear(y, p.attnProj, pass.opts), pass);
  }
  let [q, k, v] = ops.splitHeads(qkv, B, T, nHead); // (B, nh, T, hs)
  if (kv) [k, v] = throughCache(kv, k, v, pass);
  // Position t attends to positions ≤ t only (mask [T, T]; one cached position: [1, blockSize], the rows past pos hidden).
  const y = ops.attend(q, k, v, pass.mask, (w) => {
    pass.opts.attention?.push(w); // (B, nh, T, T): what inspect shows
    return dropout(w, pass);
  }); // (B, nh, T, hs)
  return dropout(linear(ops.mergeHeads(y), p.attnProj, pass.opts), pass); // heads side by side again: [B*T, C]
}

/**
 * Keys and values through a layer's KV cache. A prefill (k, v: (1, nh, T, hs)) stores them,
 * zero-padded to blockSize rows, and attends with its own; one new position (k, v: (1, nh, 1, hs))
 * is written into row pos of every head (a scatter: an exact copy, and the shape never changes)
 * and attends over the whole cache, the mask hiding the rows past pos.
 */
function throughCache(kv: LayerKV, k: tf.Tensor4D, v: tf.Tensor4D, pass: Pass): [tf.Tensor4D, tf.Tensor4D] {
  if (!pass.write) {
    const rows = kv.k.shape[2] - k.shape[2]; // blockSize - T
    kv.k.assign(
      rows > 0
        ? k.pad([
            [0, 0],
            [0, 0],
            [0, rows],
            [0, 0],
          ])
        : k,
    ); // (1, nh, blockSize, hs)
    kv.v.assign(
      rows > 0
        ? v.pad([
            [0, 0],
            [0, 0],
            [0, rows],
            [0, 0],
          ])
        : v,
    );
    return [k, v];
  }
  const [, nh, , hs] = k.shape;
  kv.k.assign(tf.tensorScatterUpdate(kv.k, pass.write, k.reshape([nh, hs]))); // (1, nh, blockSize, hs)
  kv.v.assign(tf.tensorScatterUpdate(kv.v, pass.write, v.reshape([nh, hs])));
  return [kv.k, kv.v];
}

/** The MLP: C → 4C → GELU → C. x: [B*T, C] → [B*T, C]. */
function mlp(x: tf.Tensor2D, p: BlockParams, pass: Pass): tf.Tensor2D {
  const h = gelu(linear(x, p.cFc, pass.opts), pass); // [B*T, 4C]
  return dropout(linear(h, p.mlpProj, pass.opts), pass);
}

/** A pre-LayerNorm transformer block: x + attn(ln(x)), then + mlp(ln(x)). */
function block(x: tf.Tensor2D, p: BlockParams, pass: Pass, kv?: LayerKV): tf.Tensor2D {
  x = x.add(causalSelfAttention(layerNorm(x, p.ln1, pass), p, pass, kv));
  return x.add(mlp(layerNorm(x, p.ln2, pass), p, pass));
}

// ---------------------------------------------------------------------------------------------
// The model.

/** N(0, std) weights drawn from our own seeded RNG, identical on every backend. */
function normalInit(rng: Rng, shape: number[], std: number): tf.Variable {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
  return toVariable(tf.tensor(data, shape, 'float32'));
}

function onesInit(n: number): tf.Variable {
  return toVariable(tf.ones([n], 'float32'));
}

/** A variable from a fresh tensor; the tensor itself is freed (tf.variable keeps its own reference). */
export function toVariable(t: tf.Tensor, trainable = true): tf.Variable {
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
}

export class GPT {
  readonly config: ModelConfig;
  readonly wte: tf.Variable; // [V, C] token embedding, also the output head
  readonly wpe: tf.Variable; // [blockSize, C] position embedding
  readonly blocks: BlockParams[];
  readonly lnF: tf.Variable; // [C]
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
    const pass: Pass = { B, T, nHead, mask: this.causalMask(T), rate, opts };
    const tok = embed(tf.oneHot(idx.reshape([B * T]), V).cast('float32') as tf.Tensor2D, this.wte, opts); // [B*T, C]
    const pos = this.wpe.slice([0, 0], [T, C]); // [T, C]
    let x = tok
      .reshape([B, T, C])
      .add(pos)
      .reshape([B * T, C]) as tf.Tensor2D; // [B*T, C]
    x = dropout(x, pass);
    for (const [i, p] of this.blocks.entries()) x = block(x, p, pass, cache?.layers[i]);
    if (cache) cache.filledWith(this);
    x = layerNorm(x, this.lnF, pass);
    return linearTransposed(x, this.wte, opts); // [B*T, V]: the head is the embedding, transposed
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
    const opts = { training: false, fusedKernels };
    // The attend-step kernel masks and writes by pos itself; the plain ops need the rows and the mask as tensors.
    const pass: Pass =
      fused(opts) && attendStepApplies(blockSize)
        ? { B: 1, T: 1, nHead, mask: this.causalMask(1), rate: 0, opts, pos }
        : {
            B: 1,
            T: 1,
            nHead,
            mask: tf.gather(this.causalMask(blockSize), at) as tf.Tensor2D, // [1, blockSize]: -1e9 past pos
            rate: 0,
            opts,
            pos,
            write: tf.tensor2d(
              Array.from({ length: nHead }, (_, h) => [0, h, pos]),
              [nHead, 3],
              'int32',
            ), // where k, v go
          };
    const tok = embed(tf.oneHot(tf.tensor1d([token], 'int32'), V).cast('float32') as tf.Tensor2D, this.wte, opts); // [1, C]
    let x = tok.add(tf.gather(this.wpe, at)) as tf.Tensor2D; // [1, C]
    for (const [i, p] of this.blocks.entries()) x = block(x, p, pass, cache.layers[i]);
    x = layerNorm(x, this.lnF, pass);
    return linearTransposed(x, this.wte, opts); // [1, V]
  }

  /** Mean cross-entropy in nats. logits [N, V], targets [N] int32 → scalar. */
  loss(logits: tf.Tensor2D, targets: tf.Tensor1D, opts: { fusedKernels?: boolean } = {}): tf.Scalar {
    if (fused(opts)) return softmaxCrossEntropy(logits, targets, true); // 2 dispatches, 1 backward
    if (xnnpack(opts)) return xnn.crossEntropy(logits, targets); // the same ops, a gradient through XNNPACK's softmax
    return ops.crossEntropy(logits, targets);
  }

  /** An empty KV cache for this model's shapes. */
  kvCache(): KVCache {
    return new KVCache(this.config);
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
