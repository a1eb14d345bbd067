/**
 * A tabgpt run handed to nanoGPT (github.com/karpathy/nanoGPT): the files that make its train.py
 * continue the same run, laid out to be copied over a nanoGPT checkout.
 *
 *   data/<name>/train.bin, val.bin   the run's own 90/10 split (splitTrainVal), uint16 token ids
 *   data/<name>/meta.pkl             {vocab_size, stoi, itos}, as nanoGPT's character datasets have it
 *   out-<name>/ckpt.pt               what `train.py --init_from=resume` loads: model, optimizer,
 *                                    model_args, iter_num, best_val_loss, config (torch-file.ts)
 *   config/train_<name>.py           the run's settings under train.py's names
 *
 * What nanoGPT's train.py and model.py do with them (read from its source):
 * - model.load_state_dict is strict. Its GPT keeps a causal-mask buffer `transformer.h.{i}.attn.bias`
 *   only when PyTorch lacks scaled_dot_product_attention (PyTorch 1.x), so the file is made for one
 *   PyTorch major version: `torch: 1` adds the buffers, 2 (the default) leaves them out.
 * - configure_optimizers builds AdamW with two groups, in named_parameters() order: the ≥ 2-D weights
 *   with weight decay, then the rest without; the tied lm_head.weight appears once, as
 *   transformer.wte.weight. optimizer.load_state_dict takes each group's hyperparameters from the file.
 * - get_lr(it) is tabgpt's getLr (src/core/schedule.ts) with lr_decay_iters for maxSteps: the same
 *   numbers for every update a tabgpt run makes. train.py also takes one update at it = max_iters,
 *   after its last evaluation and never saved, where get_lr would divide by zero if
 *   warmup_iters = lr_decay_iters: lr_decay_iters is one more then.
 * - Under torchrun, gradient_accumulation_steps is divided by the number of GPUs; a step's tokens are
 *   gradient_accumulation_steps × batch_size × block_size over all of them.
 */
import { splitTrainVal } from './batching.ts';
import { dict, float, pickle, tuple, type Py, type PyFloat } from './pickle.ts';
import { CharTokenizer } from './tokenizer.ts';
import { TorchFile } from './torch-file.ts';
import type { ZipEntry } from './zip.ts';
import { ExportMisfit, nanoGptLr, nanoGptParamNames, trainCommand, type ExportPlan, type RunToExport } from './nanogpt-plan.ts';

export * from './nanogpt-plan.ts';

/** A Python float literal: 0.003, 1e-07 as 1e-7, 1 as 1.0. */
function pyFloat(x: number): string {
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

type Setting = [key: string, value: string | number | boolean | PyFloat, comment: string];

/** The settings the config file sets, under train.py's names, in groups, each with a comment. */
function configSections(run: RunToExport, plan: ExportPlan): Setting[][] {
  const t = run.train;
  const m = run.model;
  const B = t.batchSize;
  const n = plan.gradientAccumulationSteps;
  return [
    [
      ['out_dir', `out-${plan.name}`, ''],
      ['init_from', 'resume', `reads out-${plan.name}/ckpt.pt: weights, AdamW state, iter_num ${plan.iterNum}`],
      [
        'eval_interval',
        plan.evalInterval,
        t.evalEvery > 0 ? `tabgpt evaluated every ${t.evalEvery} steps` : 'tabgpt evaluated at the end only',
      ],
      [
        'eval_iters',
        plan.evalIters,
        `random batches of ${plan.batchSize}: as many sequences as tabgpt's ${t.evalBatches} fixed batches of ${B}`,
      ],
      ['always_save_checkpoint', true, 'ckpt.pt after every evaluation'],
    ],
    [
      ['dataset', plan.name, `data/${plan.name}: the run's own 90/10 split`],
      [
        'gradient_accumulation_steps',
        n,
        n === 1
          ? `one batch of ${B} per step, as tabgpt's`
          : `${n} micro-batches of ${plan.batchSize}: tabgpt's batch of ${B}, over ${n} GPUs`,
      ],
      ['batch_size', plan.batchSize, n === 1 ? '' : 'per GPU and micro-step'],
      ['block_size', m.blockSize, 'context'],
    ],
    [
      ['n_layer', m.nLayer, ''],
      ['n_head', m.nHead, ''],
      ['n_embd', m.nEmbd, ''],
      ['dropout', float(m.dropout), ''],
      ['bias', false, 'tabgpt has no biases'],
    ],
    [
      ['learning_rate', float(t.learningRate), 'peak, after warm-up'],
      ['max_iters', plan.maxIters, plan.maxIters === t.maxSteps ? "the run's planned steps" : `the run had planned ${t.maxSteps}`],
      [
        'lr_decay_iters',
        plan.lrDecayIters,
        plan.lrDecayIters === plan.maxIters
          ? 'the cosine reaches min_lr at max_iters, as in tabgpt'
          : 'max_iters + 1: warm-up ends at max_iters',
      ],
      ['min_lr', float(t.minLr), ''],
      ['warmup_iters', t.warmupSteps, ''],
      ['decay_lr', true, ''],
      ['beta1', float(t.beta1), ''],
      ['beta2', float(t.beta2), ''],
      ['weight_decay', float(t.weightDecay), 'on the >= 2-D weights only, as tabgpt'],
      ['grad_clip', float(t.gradClip), t.gradClip === 0 ? 'off' : 'on the global norm'],
    ],
  ];
}

/** A setting's value as Python source. */
function pySource(value: Setting[1]): string {
  if (typeof value === 'string') return `'${value}'`; // names and paths checked by exportNameIssue: no quotes or backslashes
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return String(value);
  return pyFloat(value.value);
}

/** config/train_<name>.py: train.py exec()s it, so every line is a plain assignment. */
export function configFile(run: RunToExport, plan: ExportPlan): string {
  const corpus = run.corpus ? JSON.stringify(run.corpus.name) : 'an unnamed corpus';
  const m = run.model;
  const head = [
    `# A tabgpt run on ${corpus}, exported at step ${plan.iterNum} (of ${run.train.maxSteps} planned):`,
    `# ${m.nLayer} ${m.nLayer === 1 ? 'layer' : 'layers'}, width ${m.nEmbd}, ${m.nHead} heads, context ${m.blockSize}, ${run.vocab.length} characters.`,
    `#   ${trainCommand(plan)}`,
    "# The learning rate follows tabgpt's schedule from there. To train longer, raise max_iters and",
    "# lr_decay_iters together: the cosine then stretches over the new length, as tabgpt's --steps does.",
  ];
  const sections = configSections(run, plan).map((s) => s.map(([k, v, c]) => `${k} = ${pySource(v)}${c ? ` # ${c}` : ''}`).join('\n'));
  return [head.join('\n'), ...sections].join('\n\n') + '\n';
}

/** The config dict ckpt.pt carries (train.py keeps it for logging): the same settings. */
function configDict(run: RunToExport, plan: ExportPlan): Py {
  return Object.fromEntries(configSections(run, plan).flatMap((s) => s.map(([k, v]) => [k, v] as const)));
}

/** meta.pkl: how nanoGPT's sample.py turns ids back into characters. */
export function metaPickle(vocab: readonly string[]): Uint8Array {
  return pickle({
    vocab_size: vocab.length,
    itos: dict(vocab.map((ch, i) => [i, ch] as const)),
    stoi: dict(vocab.map((ch, i) => [ch, i] as const)),
  });
}

/** ids as uint16, little-endian. */
function uint16LE(ids: Int32Array): Uint8Array {
  const out = new Uint8Array(ids.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < ids.length; i++) view.setUint16(i * 2, ids[i], true);
  return out;
}

/** ckpt.pt: what train.py --init_from=resume reads, as torch.save would write it. */
export function checkpointFile(run: RunToExport, plan: ExportPlan): Uint8Array {
  const f = new TorchFile();
  const m = run.model;
  const names = nanoGptParamNames(m.nLayer);
  const tensor = (key: string) => {
    const t = run.tensors.get(key);
    if (!t) throw new ExportMisfit(`tensor ${key} is missing`);
    return f.tensor(t.data, t.shape);
  };
  // The state dict in the order nanoGPT's own lists it: each module's buffers before its children.
  const model: [string, Py][] = [];
  const T = m.blockSize;
  const mask = plan.torch === 1 ? new Float32Array(T * T) : null;
  for (let r = 0; mask && r < T; r++) mask.fill(1, r * T, r * T + r + 1); // tril(ones(T, T)): one storage for every layer
  for (const name of names) {
    const layer = /^transformer\.h\.(\d+)\.attn\.c_attn\.weight$/.exec(name);
    if (layer && mask) model.push([`transformer.h.${layer[1]}.attn.bias`, f.tensor(mask, [1, 1, T, T])]);
    model.push([name, tensor(name)]);
  }
  model.push(['lm_head.weight', tensor('transformer.wte.weight')]); // tied: the same storage, as in nanoGPT's state_dict

  // configure_optimizers: group 0 the ≥ 2-D weights (decayed), group 1 the rest; ids count on across groups.
  const groups = [names.filter((n) => run.tensors.get(n)!.shape.length >= 2), names.filter((n) => run.tensors.get(n)!.shape.length < 2)];
  const ordered = groups.flat();
  const state = dict(
    ordered.map((name, id) => [
      id,
      {
        step: f.tensor(Float32Array.of(run.step), []), // its own storage: AdamW increments it in place
        exp_avg: tensor(`optimizer.exp_avg.${name}`),
        exp_avg_sq: tensor(`optimizer.exp_avg_sq.${name}`),
      },
    ]),
  );
  const t = run.train;
  let id = 0;
  const paramGroups = groups.map((g, i) => ({
    weight_decay: float(i === 0 ? t.weightDecay : 0),
    lr: float(
      nanoGptLr(run.step, {
        learning_rate: t.learningRate,
        min_lr: t.minLr,
        warmup_iters: t.warmupSteps,
        lr_decay_iters: plan.lrDecayIters,
      }),
    ),
    betas: tuple(float(t.beta1), float(t.beta2)),
    eps: float(t.eps),
    amsgrad: false,
    foreach: null,
    maximize: false,
    capturable: false,
    differentiable: false,
    params: g.map(() => id++),
  }));
  return f.save({
    model: dict(model),
    optimizer: { state, param_groups: paramGroups },
    model_args: {
      n_layer: m.nLayer,
      n_head: m.nHead,
      n_embd: m.nEmbd,
      block_size: m.blockSize,
      bias: false,
      vocab_size: m.vocabSize,
      dropout: float(m.dropout),
    },
    iter_num: run.step,
    best_val_loss: float(plan.bestValLoss),
    config: configDict(run, plan),
  });
}

/**
 * Every file of the export, paths relative to the nanoGPT checkout. `text` is the run's corpus
 * (checkCorpus first); it is tokenized with the run's own vocabulary and split as the run split it.
 */
export function exportFiles(run: RunToExport, text: string, plan: ExportPlan): ZipEntry[] {
  let ids: Int32Array;
  try {
    ids = new CharTokenizer(run.vocab).encode(text);
  } catch (err) {
    throw new ExportMisfit(`the corpus does not fit the run's vocabulary: ${(err as Error).message}`);
  }
  const { train, val } = splitTrainVal(ids, run.model.blockSize);
  const name = plan.name;
  return [
    { path: `data/${name}/train.bin`, bytes: uint16LE(train) },
    { path: `data/${name}/val.bin`, bytes: uint16LE(val) },
    { path: `data/${name}/meta.pkl`, bytes: metaPickle(run.vocab) },
    { path: `out-${name}/ckpt.pt`, bytes: checkpointFile(run, plan) },
    { path: `config/train_${name}.py`, bytes: new TextEncoder().encode(configFile(run, plan)) },
  ];
}
