/**
 * The benchmark's GPT with switches: each one undoes (or, for padVocab, adds) one of the speed
 * choices of workers/model.ts, so the benchmark can measure what that choice is worth in kernels, GPU
 * dispatches and ms per step. With every switch off it is model.ts's GPT, weight for weight and
 * kernel for kernel (a unit test checks both), so a difference measured with a switch on comes
 * from that switch alone. The app never uses this file.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../core/config.ts';
import { Rng, streamSeed } from '../../core/rng.ts';
import { causalMask, MASKED } from '../../../workers/ops.ts';
import { toVariable, type ForwardOptions, type GPT, type ParamName } from '../../../workers/model.ts';

/** One switch each; all off is model.ts. */
export interface VariantSwitches {
  bias?: boolean; // a bias on every Linear and LayerNorm (nanoGPT's bias=True)
  fusedMatMul?: boolean; // with bias: tf.fused.matMul adds the bias inside the matmul
  untiedHead?: boolean; // a separate [C, V] output head instead of the token embedding transposed
  splitQkv?: boolean; // three [C, C] query, key and value matrices instead of one [C, 3C]
  gatherEmbedding?: boolean; // tf.gather of embedding rows instead of oneHot · matMul (no gradient on wasm)
  maskEveryForward?: boolean; // the causal mask rebuilt with tf.linalg.bandPart in every forward pass
  padVocab?: boolean; // the vocabulary padded to a multiple of 4 (extra logits never targeted)
}

export type VariantName = keyof VariantSwitches;

/** What each switch measures, as the report names it. */
export const VARIANTS: Record<VariantName, { label: string; win: string }> = {
  bias: { label: '+ linear and LayerNorm biases', win: 'no biases' },
  fusedMatMul: { label: '+ biases, added by tf.fused.matMul', win: 'tf.fused.matMul (only matters with biases)' },
  untiedHead: { label: '+ untied output head', win: 'tied embeddings' },
  splitQkv: { label: '+ separate Q, K, V matrices', win: 'one fused QKV matrix' },
  gatherEmbedding: { label: '+ tf.gather embedding', win: 'one-hot embedding matmul' },
  maskEveryForward: { label: '+ causal mask rebuilt every forward', win: 'the causal mask built once' },
  padVocab: { label: 'vocabulary padded to a multiple of 4', win: 'sizes padded to multiples of 4' },
};

/** A backend on which a variant cannot train, and why; null when it can. */
export function variantUnsupported(v: VariantSwitches, backend: string): string | null {
  if (v.gatherEmbedding && backend === 'wasm') return 'tfjs-backend-wasm has no gradient for gather (UnsortedSegmentSum, tfjs#8082)';
  return null;
}

const LN_EPS = 1e-5;

interface Linear {
  w: tf.Variable; // [in, out]
  b?: tf.Variable; // [out]
}

interface Norm {
  g: tf.Variable;
  b?: tf.Variable;
}

interface Block {
  ln1: Norm;
  qkv: Linear[]; // one [C, 3C], or three [C, C]
  attnProj: Linear;
  ln2: Norm;
  cFc: Linear;
  mlpProj: Linear;
}

/** The duck-typed part of GPT that Trainer and generate use. */
export type TrainableModel = Pick<GPT, 'config' | 'params' | 'forward' | 'loss' | 'dispose'>;

export class VariantGPT implements TrainableModel {
  readonly config: ModelConfig;
  readonly params: ReadonlyArray<{ name: ParamName; variable: tf.Variable }>;
  private readonly vocabPadded: number;
  private readonly wte: tf.Variable;
  private readonly wpe: tf.Variable;
  private readonly blocks: Block[];
  private readonly lnF: Norm;
  private readonly head?: tf.Variable; // [C, V] when untied
  private readonly masks = new Map<number, tf.Tensor2D>();

  constructor(
    config: ModelConfig,
    seed: number,
    readonly switches: VariantSwitches = {},
  ) {
    this.config = { ...config };
    const { vocabSize: V, blockSize, nLayer, nEmbd: C } = config;
    const s = switches;
    this.vocabPadded = s.padVocab ? Math.ceil(V / 4) * 4 : V;
    // The same draws in the same order as GPT's constructor; anything extra comes after them.
    const rng = new Rng(streamSeed(seed, 'init'));
    const std = 0.02;
    const residualStd = std / Math.sqrt(2 * nLayer);
    const normal = (shape: number[], sd: number) => {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * sd;
      return toVariable(tf.tensor(data, shape, 'float32'));
    };
    const zeros = (n: number) => toVariable(tf.zeros([n], 'float32'));
    const norm = (): Norm => ({ g: toVariable(tf.ones([C], 'float32')), b: s.bias ? zeros(C) : undefined });
    const linear = (nIn: number, nOut: number, sd: number): Linear => ({ w: normal([nIn, nOut], sd), b: s.bias ? zeros(nOut) : undefined });
    this.wte = normal([this.vocabPadded, C], std);
    this.wpe = normal([blockSize, C], std);
    this.blocks = Array.from({ length: nLayer }, () => ({
      ln1: norm(),
      qkv: s.splitQkv ? [linear(C, C, std), linear(C, C, std), linear(C, C, std)] : [linear(C, 3 * C, std)],
      attnProj: linear(C, C, residualStd),
      ln2: norm(),
      cFc: linear(C, 4 * C, std),
      mlpProj: linear(4 * C, C, residualStd),
    }));
    this.lnF = norm();
    if (s.untiedHead) this.head = normal([C, this.vocabPadded], std);
    // Names only label the variables here (Trainer orders by position): the closest nanoGPT name.
    const named = (name: string, variable: tf.Variable | undefined) => (variable ? [{ name: name as ParamName, variable }] : []);
    const lin = (name: string, l: Linear) => [...named(`${name}.weight`, l.w), ...named(`${name}.bias`, l.b)];
    this.params = [
      ...named('transformer.wte.weight', this.wte),
      ...named('transformer.wpe.weight', this.wpe),
      ...this.blocks.flatMap((b, i) => [
        ...named(`transformer.h.${i}.ln_1.weight`, b.ln1.g),
        ...named(`transformer.h.${i}.ln_1.bias`, b.ln1.b),
        ...b.qkv.flatMap((l, j) => lin(`transformer.h.${i}.attn.${b.qkv.length === 1 ? 'c_attn' : ['q', 'k', 'v'][j]}`, l)),
        ...lin(`transformer.h.${i}.attn.c_proj`, b.attnProj),
        ...named(`transformer.h.${i}.ln_2.weight`, b.ln2.g),
        ...named(`transformer.h.${i}.ln_2.bias`, b.ln2.b),
        ...lin(`transformer.h.${i}.mlp.c_fc`, b.cFc),
        ...lin(`transformer.h.${i}.mlp.c_proj`, b.mlpProj),
      ]),
      ...named('transformer.ln_f.weight', this.lnF.g),
      ...named('transformer.ln_f.bias', this.lnF.b),
      ...named('lm_head.weight', this.head),
    ];
  }

  private linear(x: tf.Tensor2D, l: Linear): tf.Tensor2D {
    if (!l.b) return tf.matMul(x, l.w);
    if (this.switches.fusedMatMul) return tf.fused.matMul({ a: x, b: l.w, bias: l.b }) as tf.Tensor2D;
    return tf.matMul(x, l.w).add(l.b) as tf.Tensor2D;
  }

  private layerNorm(x: tf.Tensor2D, n: Norm): tf.Tensor2D {
    const { mean, variance } = tf.moments(x, -1, true);
    const y = x
      .sub(mean)
      .mul(tf.rsqrt(variance.add(LN_EPS)))
      .mul(n.g) as tf.Tensor2D;
    return n.b ? (y.add(n.b) as tf.Tensor2D) : y;
  }

  private mask(T: number): tf.Tensor2D {
    if (this.switches.maskEveryForward) {
      // The usual first port: ones → lower triangle → additive 0 / -1e9, inside the forward pass.
      return tf.linalg
        .bandPart(tf.ones([T, T]), -1, 0)
        .sub(1)
        .mul(-MASKED) as tf.Tensor2D;
    }
    let m = this.masks.get(T);
    if (!m) this.masks.set(T, (m = tf.keep(causalMask(T)))); // as model.ts keeps it
    return m;
  }

  /** Token ids [B, T] int32 → logits [B*T, V] (V padded under padVocab), as GPT.forward. */
  forward(idx: tf.Tensor2D, opts: ForwardOptions = { training: false }): tf.Tensor2D {
    const [B, T] = idx.shape;
    const { nEmbd: C, nHead, dropout: rate } = this.config;
    if (rate > 0 && opts.training) throw new Error('the benchmark variants run without dropout');
    const hs = C / nHead;
    const mask = this.mask(T);
    const ids = idx.reshape([B * T]) as tf.Tensor1D;
    const tok = this.switches.gatherEmbedding
      ? tf.gather(this.wte, ids)
      : tf.matMul(tf.oneHot(ids, this.vocabPadded).cast('float32'), this.wte);
    const pos = this.wpe.slice([0, 0], [T, C]);
    let x = tok
      .reshape([B, T, C])
      .add(pos)
      .reshape([B * T, C]) as tf.Tensor2D;
    for (const p of this.blocks) {
      // Attention, as model.ts's causalSelfAttention.
      const h = this.layerNorm(x, p.ln1);
      const heads = (t: tf.Tensor) => t.reshape([B, T, nHead, hs]).transpose([0, 2, 1, 3]);
      const [q, k, v] =
        p.qkv.length === 1 ? tf.split(this.linear(h, p.qkv[0]), 3, 1).map(heads) : p.qkv.map((l) => heads(this.linear(h, l)));
      let att = tf.matMul(q.mul(1 / Math.sqrt(hs)), k, false, true);
      att = tf.softmax(att.add(mask));
      const y = tf
        .matMul(att, v)
        .reshape([B, nHead, T, hs])
        .transpose([0, 2, 1, 3])
        .reshape([B * T, C]) as tf.Tensor2D; // as model.ts's swap
      x = x.add(this.linear(y, p.attnProj));
      // MLP, exact GELU.
      const f = this.linear(this.layerNorm(x, p.ln2), p.cFc);
      const g = f.mul(tf.erf(f.mul(Math.SQRT1_2)).add(1)).mul(0.5) as tf.Tensor2D;
      x = x.add(this.linear(g, p.mlpProj));
    }
    x = this.layerNorm(x, this.lnF);
    return this.head ? tf.matMul(x, this.head) : tf.matMul(x, this.wte, false, true);
  }

  /** Mean cross-entropy in nats, as GPT.loss (over the padded vocabulary under padVocab). */
  loss(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
    const logp = tf.logSoftmax(logits);
    const picked = logp.mul(tf.oneHot(targets, this.vocabPadded).cast('float32')).sum(1);
    return picked.mean().neg() as tf.Scalar;
  }

  dispose() {
    for (const { variable } of this.params) variable.dispose();
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }
}
