/**
 * Checkpoint files in the safetensors format: tensors named and laid out as nanoGPT's GPT
 * with bias=False (PyTorch Linear weights are [out, in]), the model config, vocabulary and
 * training config in the metadata. The same bytes serve the app and the CLI.
 */
import * as tf from '@tensorflow/tfjs';
import { assertValid, validateModelConfig, type ModelConfig, type TrainConfig } from '../src/core/config.ts';
import { CharTokenizer } from '../src/core/tokenizer.ts';
import { GPT } from './model.ts';

export const CHECKPOINT_FORMAT = 'tabgpt-1';
const MAX_HEADER_BYTES = 100 * 1024 * 1024; // the safetensors reference limit

interface TensorEntry {
  dtype: 'F32';
  shape: number[];
  data_offsets: [number, number];
}

/** What a checkpoint carries besides the weights. */
export interface CheckpointMeta {
  model: ModelConfig;
  vocab: string[];
  train?: TrainConfig;
  step: number;
}

/** Linear weights are [in, out] in tfjs and [out, in] in PyTorch. */
function isLinear(name: string): boolean {
  return /\.(c_attn|c_proj|c_fc)\.weight$/.test(name);
}

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Serialises the model's weights and metadata as one safetensors file. */
export async function saveCheckpoint(model: GPT, meta: Omit<CheckpointMeta, 'model'>): Promise<Uint8Array> {
  const tensors: { name: string; shape: number[]; data: Float32Array }[] = [];
  for (const { name, variable } of model.params) {
    let data = (await variable.data()) as Float32Array;
    let shape: number[] = [...variable.shape];
    if (isLinear(name)) {
      data = transpose2d(data, shape[0], shape[1]);
      shape = [shape[1], shape[0]];
    }
    tensors.push({ name, shape, data });
  }
  // The head is tied to the embedding; nanoGPT's state_dict lists it under both names.
  const wte = tensors[0];
  tensors.push({ name: 'lm_head.weight', shape: wte.shape, data: wte.data });

  const header: Record<string, TensorEntry | Record<string, string>> = {
    __metadata__: {
      format: CHECKPOINT_FORMAT,
      config: JSON.stringify(model.config),
      vocab: JSON.stringify(meta.vocab),
      step: String(meta.step),
      ...(meta.train ? { train: JSON.stringify(meta.train) } : {}),
    },
  };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8); // align the data to 8 bytes
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

function fail(msg: string): never {
  throw new Error(`not a usable checkpoint: ${msg}`);
}

/** Parses and checks a checkpoint, then builds the model from it. */
export function loadCheckpoint(bytes: Uint8Array): { model: GPT; tokenizer: CharTokenizer; meta: CheckpointMeta } {
  if (bytes.length < 8) fail(`the file is ${bytes.length} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > bytes.length) fail(`the header claims ${headerLen} bytes but the file has ${bytes.length}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch {
    fail('the header is not valid JSON (truncated or not a safetensors file)');
  }
  const metaRaw = header.__metadata__ as Record<string, string> | undefined;
  if (!metaRaw?.config || !metaRaw.vocab) fail('the metadata has no model config or vocabulary');
  let model: ModelConfig;
  let vocab: string[];
  try {
    model = JSON.parse(metaRaw.config);
    vocab = JSON.parse(metaRaw.vocab);
  } catch {
    fail('the config or vocabulary in the metadata is not valid JSON');
  }
  assertValid(model, validateModelConfig(model), 'model config in checkpoint');
  if (!Array.isArray(vocab) || vocab.length !== model.vocabSize) fail(`the vocabulary has ${vocab?.length} characters, the config says ${model.vocabSize}`);
  const tokenizer = new CharTokenizer(vocab);
  const data = bytes.subarray(8 + headerLen);
  // Every tensor the header lists must lie inside the file, before any allocation.
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const entry = raw as Partial<TensorEntry>;
    const [begin, end] = entry.data_offsets ?? [];
    const count = (entry.shape ?? []).reduce((a, b) => a * b, 1);
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin! >= 0 && end! <= data.length && end! - begin! === 4 * count)) {
      fail(`tensor ${name} lies outside the file or does not match its shape (truncated?)`);
    }
  }
  const head = header['lm_head.weight'] as TensorEntry | undefined;
  if (head && JSON.stringify(head.shape) !== JSON.stringify([model.vocabSize, model.nEmbd])) fail(`lm_head.weight has shape [${head.shape}], the config needs [${model.vocabSize},${model.nEmbd}]`);

  const gpt = new GPT(model, 0);
  try {
    for (const { name, variable } of gpt.params) {
      const entry = header[name] as TensorEntry | undefined;
      if (!entry) fail(`tensor ${name} is missing`);
      const expected = isLinear(name) ? [variable.shape[1], variable.shape[0]] : variable.shape;
      if (entry.dtype !== 'F32') fail(`tensor ${name} is ${entry.dtype}, only F32 is supported`);
      if (JSON.stringify(entry.shape) !== JSON.stringify(expected)) fail(`tensor ${name} has shape [${entry.shape}], the config needs [${expected}]`);
      const [begin, end] = entry.data_offsets;
      if (!(begin >= 0 && end <= data.length && end - begin === 4 * variable.size)) fail(`tensor ${name} lies outside the file (truncated?)`);
      let values: Float32Array<ArrayBuffer> = new Float32Array(data.slice(begin, end).buffer);
      if (isLinear(name)) values = transpose2d(values, entry.shape[0], entry.shape[1]);
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape, 'float32')));
    }
  } catch (err) {
    gpt.dispose();
    throw err;
  }
  const train = metaRaw.train ? (JSON.parse(metaRaw.train) as TrainConfig) : undefined;
  return { model: gpt, tokenizer, meta: { model, vocab, train, step: Number(metaRaw.step ?? 0) } };
}
