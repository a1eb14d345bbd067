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
 * Weights are stored as tfjs uses them, [in, out]; PyTorch's Linear is [out, in].
 */
import * as tf from '@tensorflow/tfjs';
import { assertValid, validateModelConfig, type ModelConfig } from '../src/core/config.ts';
import { Rng, streamSeed } from '../src/core/rng.ts';

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
}

const LN_EPS = 1e-5;
const MASKED = -1e9; // exp(-1e9 - max) is exactly 0 in float32, without the NaN -Infinity can bring

// ---------------------------------------------------------------------------------------------
// Layers: plain functions of tensors, so the whole forward pass reads in one place.

/** LayerNorm without bias over the last axis: (x - mean) / √(var + eps) · g. */
function layerNorm(x: tf.Tensor2D, g: tf.Variable): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true); // [N, 1] each
  return x.sub(mean).mul(tf.rsqrt(variance.add(LN_EPS))).mul(g);
}

/** Exact GELU, x·Φ(x), as PyTorch's nn.GELU() computes it. */
function gelu(x: tf.Tensor2D): tf.Tensor2D {
  return x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5);
}

/** What every layer of one forward pass shares. */
interface Pass {
  B: number; // batch
  T: number; // sequence length, ≤ blockSize
  nHead: number;
  mask: tf.Tensor2D; // [T, T] additive causal mask
  rate: number; // dropout rate
  opts: ForwardOptions;
}

function dropout<T extends tf.Tensor>(x: T, pass: Pass): T {
  if (!pass.opts.training || pass.rate === 0) return x;
  if (!pass.opts.rng) throw new Error('dropout while training needs an rng');
  return tf.dropout(x, pass.rate, undefined, pass.opts.rng.nextUint32()) as T;
}

/** Causal multi-head self-attention. x: [B*T, C] → [B*T, C]. */
function causalSelfAttention(x: tf.Tensor2D, p: BlockParams, pass: Pass): tf.Tensor2D {
  const { B, T, nHead } = pass;
  const C = x.shape[1];
  const hs = C / nHead;
  const qkv = tf.matMul(x, p.cAttn); // [B*T, 3C]
  const [q, k, v] = tf.split(qkv, 3, 1).map(
    (t) => t.reshape([B, T, nHead, hs]).transpose([0, 2, 1, 3]), // (B, nh, T, hs)
  );
  let att = tf.matMul(q.mul(1 / Math.sqrt(hs)), k, false, true); // (B, nh, T, T)
  att = att.add(pass.mask); // broadcast [T, T]: position t attends to positions ≤ t only
  att = dropout(tf.softmax(att), pass);
  const y = tf
    .matMul(att, v) // (B, nh, T, hs)
    .transpose([0, 2, 1, 3]) // (B, T, nh, hs)
    .reshape([B * T, C]) as tf.Tensor2D; // heads side by side again
  return dropout(tf.matMul(y, p.attnProj), pass);
}

/** The MLP: C → 4C → GELU → C. x: [B*T, C] → [B*T, C]. */
function mlp(x: tf.Tensor2D, p: BlockParams, pass: Pass): tf.Tensor2D {
  const h = gelu(tf.matMul(x, p.cFc)); // [B*T, 4C]
  return dropout(tf.matMul(h, p.mlpProj), pass);
}

/** A pre-LayerNorm transformer block: x + attn(ln(x)), then + mlp(ln(x)). */
function block(x: tf.Tensor2D, p: BlockParams, pass: Pass): tf.Tensor2D {
  x = x.add(causalSelfAttention(layerNorm(x, p.ln1), p, pass));
  return x.add(mlp(layerNorm(x, p.ln2), p, pass));
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
    if (!mask) {
      const data = new Float32Array(T * T);
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = MASKED;
      mask = tf.keep(tf.tensor2d(data, [T, T]));
      this.masks.set(T, mask);
    }
    return mask;
  }

  /** Token ids [B, T] (int32, T ≤ blockSize) → logits [B*T, V]. */
  forward(idx: tf.Tensor2D, opts: ForwardOptions = { training: false }): tf.Tensor2D {
    const [B, T] = idx.shape;
    const { vocabSize: V, blockSize, nEmbd: C, nHead, dropout: rate } = this.config;
    if (T > blockSize) throw new Error(`cannot forward a sequence of ${T}: the context is ${blockSize}`);
    if (idx.dtype !== 'int32') throw new Error('token ids must be int32');
    const pass: Pass = { B, T, nHead, mask: this.causalMask(T), rate, opts };
    const tok = tf.matMul(tf.oneHot(idx.reshape([B * T]), V).cast('float32'), this.wte); // [B*T, C]
    const pos = this.wpe.slice([0, 0], [T, C]); // [T, C]
    let x = tok.reshape([B, T, C]).add(pos).reshape([B * T, C]) as tf.Tensor2D; // [B*T, C]
    x = dropout(x, pass);
    for (const p of this.blocks) x = block(x, p, pass);
    x = layerNorm(x, this.lnF);
    return tf.matMul(x, this.wte, false, true); // [B*T, V]: the head is the embedding, transposed
  }

  /** Mean cross-entropy in nats. logits [N, V], targets [N] int32 → scalar. */
  loss(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
    const logp = tf.logSoftmax(logits); // [N, V]
    const picked = logp.mul(tf.oneHot(targets, this.config.vocabSize).cast('float32')).sum(1); // [N]
    return picked.mean().neg() as tf.Scalar;
  }

  /** Frees every parameter and the cached masks. */
  dispose() {
    for (const { variable } of this.params) variable.dispose();
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }
}
