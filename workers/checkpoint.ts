/**
 * Checkpoints: one safetensors file that holds everything a run needs to continue bit for bit,
 * and loads into nanoGPT as it is.
 *
 * - Model tensors are named and laid out as nanoGPT's GPT with bias=False: `transformer.wte.weight`,
 *   `transformer.h.{i}.attn.c_attn.weight` … and `lm_head.weight` (tied to wte, listed under both
 *   names as nanoGPT's state_dict does); PyTorch Linear weights are [out, in], tfjs's [in, out].
 * - AdamW moments are `optimizer.exp_avg.<name>` and `optimizer.exp_avg_sq.<name>`, in the
 *   parameter's file layout; drop the `optimizer.` keys before `load_state_dict` in PyTorch.
 * - Metadata (strings): format, config (model), vocab, step, train (config), state (data order and
 *   RNGs), corpus (name and checksum), history (the run's losses,
 *   bounded: history.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { BatcherState } from '../src/core/batching.ts';
import { assertValid, validateModelConfig, validateTrainConfig, type ModelConfig, type TrainConfig } from '../src/core/config.ts';
import type { RngState } from '../src/core/rng.ts';
import { readSafetensors, SafetensorsError, writeSafetensors, type NamedTensor } from '../src/core/safetensors.ts';
import { CharTokenizer } from '../src/core/tokenizer.ts';
import { thinHistory, type RunHistory } from './history.ts';
import { GPT } from './model.ts';
import type { Trainer, TrainerState } from './train.ts';

export const CHECKPOINT_FORMAT = 'tabgpt-1';

/** The corpus a run trained on: a resume must use the same text. */
export interface CorpusId {
  name: string;
  sha256: string; // of the text's UTF-8 bytes
}

export type { RunHistory };

export interface CheckpointMeta {
  model: ModelConfig;
  vocab: string[];
  step: number;
  train?: TrainConfig;
  corpus?: CorpusId;
  history?: RunHistory;
  run?: string; // the run's id: every save of one run carries the same (the CLI's --save refuses another run's file)
}

export interface Checkpoint {
  model: GPT;
  tokenizer: CharTokenizer;
  meta: CheckpointMeta;
  /** Present when the file was saved with its trainer: what resuming needs. */
  state?: TrainerState;
}

/** Linear weights are [in, out] in tfjs and [out, in] in PyTorch. */
function isLinear(name: string): boolean {
  return /\.(c_attn|c_proj|c_fc)\.weight$/.test(name);
}

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** A parameter's values in file layout. */
function toFile(name: string, shape: readonly number[], data: Float32Array): NamedTensor {
  return isLinear(name)
    ? { name, shape: [shape[1], shape[0]], data: transpose2d(data, shape[0], shape[1]) }
    : { name, shape: [...shape], data };
}

/** File layout back to tfjs layout. */
function fromFile(name: string, shape: readonly number[], data: Float32Array): Float32Array {
  return isLinear(name) ? transpose2d(data, shape[1], shape[0]) : data;
}

/** Serialises the model (and, given its trainer, everything needed to resume) as one file. */
export async function saveCheckpoint(
  model: GPT,
  opts: { vocab: readonly string[]; train?: TrainConfig; trainer?: Trainer; corpus?: CorpusId; history?: RunHistory; runId?: string },
): Promise<Uint8Array> {
  const tensors: NamedTensor[] = [];
  const weights = await model.weights();
  model.params.forEach(({ name, variable }, i) => tensors.push(toFile(name, variable.shape, weights[i])));
  tensors.push({ ...tensors[0], name: 'lm_head.weight' }); // tied: the same values under nanoGPT's second name
  const state = opts.trainer ? await opts.trainer.getState() : undefined;
  if (state) {
    model.params.forEach(({ name, variable }, i) => {
      tensors.push(toFile(`optimizer.exp_avg.${name}`, variable.shape, state.m[i]));
      tensors.push(toFile(`optimizer.exp_avg_sq.${name}`, variable.shape, state.v[i]));
    });
  }
  // A run that has just diverged may not have reported its NaN loss yet (losses are read a group
  // behind): its weights must not become a restart point, which loading would refuse anyway.
  const broken = tensors.find((t) => !t.data.every(Number.isFinite));
  if (broken)
    throw new Error(
      `the weights hold NaN or infinite values (${broken.name}) at step ${state?.step ?? opts.trainer?.step ?? 0}: a diverged model is not saved`,
    );
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(model.config),
    vocab: JSON.stringify(opts.vocab),
    step: String(state?.step ?? opts.trainer?.step ?? 0),
  };
  if (opts.train) metadata.train = JSON.stringify(opts.train);
  if (state) metadata.state = JSON.stringify({ batcher: state.batcher, dropoutRng: state.dropoutRng });
  if (opts.corpus) metadata.corpus = JSON.stringify(opts.corpus);
  if (opts.runId) metadata.run = opts.runId;
  if (opts.history) metadata.history = JSON.stringify(thinHistory(opts.history)); // bounded: any run's header stays readable
  return writeSafetensors(tensors, metadata);
}

function fail(msg: string): never {
  throw new Error(`not a usable checkpoint: ${msg}`);
}

function parseJson<T>(metadata: Record<string, string>, key: string): T | undefined {
  if (metadata[key] === undefined) return undefined;
  try {
    return JSON.parse(metadata[key]) as T;
  } catch {
    return fail(`its ${key} metadata is not valid JSON`);
  }
}

function isRngState(x: unknown): x is RngState {
  return Array.isArray(x) && x.length === 4 && x.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32);
}

function isCorpusId(x: unknown): x is CorpusId {
  const c = x as CorpusId;
  return typeof c === 'object' && c !== null && typeof c.name === 'string' && typeof c.sha256 === 'string';
}

function isRunHistory(x: unknown): x is RunHistory {
  const h = x as RunHistory;
  const isNum = (n: unknown) => typeof n === 'number' || n === null; // JSON writes NaN as null
  return (
    typeof h === 'object' &&
    h !== null &&
    Array.isArray(h.losses) &&
    h.losses.every(isNum) &&
    (h.lossSteps === undefined ||
      (Array.isArray(h.lossSteps) &&
        h.lossSteps.length === h.losses.length &&
        h.lossSteps.every((s, i) => Number.isInteger(s) && s > (i === 0 ? 0 : h.lossSteps![i - 1])))) &&
    Array.isArray(h.evals) &&
    h.evals.every((e) => typeof e === 'object' && e !== null && Number.isInteger(e.step) && isNum(e.train) && isNum(e.val))
  );
}

function isBatcherState(x: unknown): x is BatcherState {
  const b = x as BatcherState;
  return (
    typeof b === 'object' && b !== null && isRngState(b.rng) && [b.epoch, b.offset, b.cursor].every((n) => Number.isInteger(n) && n >= 0)
  );
}

/**
 * Parses and checks a checkpoint, then builds its model: every size, shape and value is checked
 * against the config in the file before any tensor is made, and any problem is an Error that
 * says what is wrong (nothing else is touched).
 */
export function loadCheckpoint(bytes: Uint8Array): Checkpoint {
  let file;
  try {
    file = readSafetensors(bytes);
  } catch (err) {
    if (err instanceof SafetensorsError) fail(err.message);
    throw err;
  }
  const { metadata, tensors } = file;
  // A file from nanoGPT has no format; one from a later version of this format may not load right.
  if (metadata.format !== undefined && metadata.format !== CHECKPOINT_FORMAT) {
    fail(
      `its format is ${JSON.stringify(metadata.format)}; this version reads ${CHECKPOINT_FORMAT} (or a file with no format, from nanoGPT)`,
    );
  }
  const model = parseJson<ModelConfig>(metadata, 'config');
  const vocab = parseJson<string[]>(metadata, 'vocab');
  if (!model || !vocab) fail('its metadata has no model config or vocabulary (a safetensors file from elsewhere?)');
  const configIssues = validateModelConfig(model);
  if (configIssues.length) fail(`its model config is invalid: ${configIssues.map((i) => i.message).join('; ')}`);
  if (!Array.isArray(vocab) || vocab.length !== model.vocabSize)
    fail(`its vocabulary has ${Array.isArray(vocab) ? vocab.length : 'no'} characters, its config says ${model.vocabSize}`);
  let tokenizer: CharTokenizer;
  try {
    tokenizer = new CharTokenizer(vocab);
  } catch (err) {
    return fail(`its vocabulary is invalid: ${(err as Error).message}`);
  }
  const train = parseJson<TrainConfig>(metadata, 'train');
  if (train) assertValid(train, validateTrainConfig(train), 'training config in checkpoint');
  const step = Number(metadata.step ?? 0);
  if (!Number.isInteger(step) || step < 0) fail(`its step is ${metadata.step}`);
  const corpus = parseJson<CorpusId>(metadata, 'corpus');
  if (corpus !== undefined && !isCorpusId(corpus)) fail('its corpus metadata is not {name, sha256}');
  const history = parseJson<RunHistory>(metadata, 'history');
  if (history !== undefined && !isRunHistory(history)) fail('its history metadata is not {losses, evals}');

  // The expected tensors, with their shapes, from a model of that config (no weights drawn yet).
  const shapes = expectedShapes(model);
  const take = (name: string): Float32Array => {
    const t = tensors.get(name);
    const want = shapes.get(name.replace(/^optimizer\.exp_avg(_sq)?\./, ''))!;
    const fileShape = isLinear(name) ? [want[1], want[0]] : want;
    if (!t) fail(`tensor ${name} is missing`);
    if (JSON.stringify(t.shape) !== JSON.stringify(fileShape))
      fail(`tensor ${name} has shape [${t.shape}], the config needs [${fileShape}]`);
    if (!t.data.every(Number.isFinite)) fail(`tensor ${name} holds NaN or infinite values`);
    return fromFile(name, want, t.data);
  };
  // A tensor this model has no place for (a bias of a bias=True model, say) would be silently
  // dropped: refuse instead, since the model would not compute what the file's model computed.
  for (const name of tensors.keys()) {
    const base = name.replace(/^optimizer\.exp_avg(_sq)?\./, '');
    if (!shapes.has(base) && name !== 'lm_head.weight')
      fail(`tensor ${name} has no place in a bias-free GPT of this config (models with biases are not supported)`);
  }
  const weights = [...shapes.keys()].map(take);
  const head = tensors.get('lm_head.weight');
  if (head && JSON.stringify(head.shape) !== JSON.stringify(shapes.get('transformer.wte.weight')))
    fail(`lm_head.weight has shape [${head.shape}], the config needs [${model.vocabSize},${model.nEmbd}]`);
  // The head is tied to the embedding: a file whose head differs was not made by this model, and
  // loading it would silently replace the head the file's model computed with.
  const wte = tensors.get('transformer.wte.weight')!.data;
  if (head && head.data.some((x, i) => x !== wte[i]))
    fail(
      'lm_head.weight differs from transformer.wte.weight, but this GPT ties its output head to the embedding (an untied model is not supported)',
    );

  let state: TrainerState | undefined;
  const saved = parseJson<{ batcher: unknown; dropoutRng: unknown }>(metadata, 'state');
  if (saved) {
    if (!isBatcherState(saved.batcher) || !isRngState(saved.dropoutRng)) fail('its training state is malformed');
    const names = [...shapes.keys()];
    state = {
      step,
      batcher: saved.batcher,
      dropoutRng: saved.dropoutRng,
      m: names.map((n) => take(`optimizer.exp_avg.${n}`)),
      v: names.map((n) => take(`optimizer.exp_avg_sq.${n}`)),
    };
    // Second moments are averages of squares: a negative one would make AdamW's √v NaN a step later.
    const negative = state.v.findIndex((v) => v.some((x) => x < 0));
    if (negative >= 0) fail(`tensor optimizer.exp_avg_sq.${names[negative]} holds negative values: second moments are averages of squares`);
  }

  const gpt = new GPT(model, 0);
  gpt.setWeights(weights);
  return {
    model: gpt,
    tokenizer,
    meta: { model, vocab, step, train, corpus, history, ...(typeof metadata.run === 'string' ? { run: metadata.run } : {}) },
    state,
  };
}

/** Parameter names and tfjs shapes of a model with this config, in GPT.params order. */
function expectedShapes(c: ModelConfig): Map<string, number[]> {
  const C = c.nEmbd;
  const m = new Map<string, number[]>([
    ['transformer.wte.weight', [c.vocabSize, C]],
    ['transformer.wpe.weight', [c.blockSize, C]],
  ]);
  for (let i = 0; i < c.nLayer; i++) {
    m.set(`transformer.h.${i}.ln_1.weight`, [C]);
    m.set(`transformer.h.${i}.attn.c_attn.weight`, [C, 3 * C]);
    m.set(`transformer.h.${i}.attn.c_proj.weight`, [C, C]);
    m.set(`transformer.h.${i}.ln_2.weight`, [C]);
    m.set(`transformer.h.${i}.mlp.c_fc.weight`, [C, 4 * C]);
    m.set(`transformer.h.${i}.mlp.c_proj.weight`, [4 * C, C]);
  }
  m.set('transformer.ln_f.weight', [C]);
  return m;
}

/**
 * A model for fine-tuning on a corpus whose vocabulary may hold characters the checkpoint has
 * never seen: the vocabulary becomes the sorted union, known characters keep their embedding
 * rows, and new ones get fresh N(0, 0.02) rows, as a new model's would. Returns the new model
 * (the given one is left as it is) and its tokenizer.
 */
export async function growVocabulary(
  ck: Checkpoint,
  corpusVocab: Iterable<string>,
  seed: number,
  dropout = ck.model.config.dropout, // a training setting: a fine-tune may choose its own
): Promise<{ model: GPT; tokenizer: CharTokenizer }> {
  const union = CharTokenizer.fromText([...ck.tokenizer.vocab, ...corpusVocab].join(''));
  const config: ModelConfig = { ...ck.model.config, vocabSize: union.size, dropout };
  const grown = new GPT(config, seed); // fresh rows for every character; known ones are overwritten below
  const C = config.nEmbd;
  const oldWte = (await ck.model.wte.data()) as Float32Array;
  const wte = Float32Array.from(await grown.wte.data());
  ck.tokenizer.vocab.forEach((ch, oldId) => wte.set(oldWte.subarray(oldId * C, oldId * C + C), union.encode(ch)[0] * C));
  tf.tidy(() => {
    grown.wte.assign(tf.tensor(wte, [union.size, C]));
    grown.params.forEach(({ variable }, i) => {
      if (i > 0) variable.assign(ck.model.params[i].variable);
    });
  });
  return { model: grown, tokenizer: union };
}
