// The form's class uses runes; the svelte plugin compiles it for the test, and these types declare them for tsc.
/// <reference types="svelte" />
/**
 * The bad-input matrix: each way a user can hand tabgpt something wrong, as one named row, walked
 * through the core (corpus decoding, tokenizer, batching, validators, sampling, generate/score,
 * checkpoint loading, the saved-runs store), the CLI as users run it, and the settings form.
 * A refused row must end in a message that names the problem, with nothing written, damaged or
 * leaked; the odd-but-valid rows (emoji, CJK, combining marks, right-to-left text, extreme
 * temperatures, prompts longer than the context, length 0) must work.
 *
 * Row counts: `coreRows.length`, `cliRows.length` and `formRows.length` (each describe block's
 * title carries its count).
 */
import * as tf from '@tensorflow/tfjs';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FIELD_FLAGS } from '../../src/cli/flags.ts';
import { Batcher, checkSplit, minCorpusLength, splitTrainVal } from '../../src/core/batching.ts';
import {
  defaultModelConfig,
  defaultTrainConfig,
  validateModelConfig,
  validateTrainConfig,
  type ConfigIssue,
  type ModelConfig,
  type TrainConfig,
} from '../../src/core/config.ts';
import { validateRunFits } from '../../src/core/footprint.ts';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../../src/core/safetensors.ts';
import { annealedDistribution } from '../../src/core/sampling.ts';
import { checkCorpusSize, decodeCorpus, MAX_CORPUS_BYTES } from '../../src/core/text.ts';
import { CharTokenizer } from '../../src/core/tokenizer.ts';
import { ConfigForm, corpusIssues, inFormTerms, type FormValues } from '../../src/lib/config-form.svelte.ts';
import { loadCheckpoint, saveCheckpoint } from '../../workers/checkpoint.ts';
import type { GPT } from '../../workers/model.ts';
import { createRun, disposeRun, prepareRun, type Run } from '../../workers/run.ts';
import { generate, MAX_GENERATE_LENGTH, score } from '../../workers/sample.ts';
import { train } from '../../workers/train.ts';

// ---------------------------------------------------------------------------------------------
// Fixtures

const enc = (s: string) => new TextEncoder().encode(s);

/** Text a user may well train on: none of it is an error, all of it is one token per code point. */
const scripts = {
  emoji: '🐳🌊⛵ ❤️ 👩‍👩‍👧 🇯🇵', // astral, a variation selector, a ZWJ family, a flag (two regional indicators)
  cjk: '春眠不覺曉，處處聞啼鳥。',
  combining: 'e\u0301 a\u0308 n\u0303 o\u0302\u0323', // decomposed é ä ñ ộ: marks stay separate tokens, never normalised
  rtl: 'שָׁלוֹם עוֹלָם مرحبا بالعالم', // Hebrew with niqqud (combining), Arabic
};
/** A corpus of all four, with no newline in it (so the CLI's default prompt has to fall back). */
const unicodeCorpus = (Object.values(scripts).join(' ') + ' ').repeat(40);

const tinyModel = { nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 16, dropout: 0 };
const tinyTrain: TrainConfig = {
  ...defaultTrainConfig,
  batchSize: 4,
  maxSteps: 40,
  learningRate: 1e-2,
  minLr: 1e-3,
  warmupSteps: 4,
  evalEvery: 0,
  evalBatches: 1,
};

/** Throws one Error listing the issues, each with its field: "[nHead] nEmbd (64) must be …". */
function assertNoIssues(issues: ConfigIssue[]) {
  if (issues.length) throw new Error(issues.map((i) => `[${i.field}] ${i.message}`).join('; '));
}

/** Runs `f` and checks it leaves no tensor behind, whether it throws or not. */
async function noLeak<T>(f: () => T | Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  try {
    return await f();
  } finally {
    expect(tf.memory().numTensors, 'tensors left behind').toBe(before);
  }
}

let run: Run; // a tiny model trained on the Unicode corpus through the training core
let goodCheckpoint: Uint8Array; // its checkpoint, with trainer state
const model = (): GPT => run.model;
const tok = (): CharTokenizer => run.tokenizer;

async function collect(prompt: string, length: number, temperature: number, seed = 1): Promise<string> {
  let s = '';
  for await (const ch of generate(model(), tok(), prompt, { length, temperature, seed })) s += ch;
  return s;
}

/** The good checkpoint with its metadata or tensors changed. */
function tampered(change: (meta: Record<string, string>, tensors: NamedTensor[]) => void): Uint8Array {
  const { metadata, tensors } = readSafetensors(goodCheckpoint);
  const list = [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
  change(metadata, list);
  return writeSafetensors(list, metadata);
}

/** A safetensors file from a header and a byte buffer as given, for layouts the writer never makes. */
function rawSafetensors(header: object, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Byte offset of the first occurrence of `needle` in `bytes`. */
function indexOfBytes(bytes: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error('not found');
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false; // no tfjs-node advert on stderr
  run = createRun(prepareRun(unicodeCorpus, tinyModel, tinyTrain));
  await train(run.trainer);
  goodCheckpoint = await saveCheckpoint(run.model, {
    vocab: run.tokenizer.vocab,
    train: run.trainer.config,
    trainer: run.trainer,
    corpus: { name: 'unicode', sha256: '00' },
    history: { losses: [1], evals: [] },
  });
});

afterAll(() => {
  if (run) disposeRun(run);
});

// ---------------------------------------------------------------------------------------------
// Hyper-parameters: one table for the validators, the CLI and the form

type Settings = Partial<Omit<ModelConfig, 'vocabSize'> & TrainConfig>;

interface HyperRow {
  name: string;
  set: Settings; // the bad value(s), over the defaults
  field: string; // the field the issue is reported on
  message: RegExp; // from the validators (and the form, which shows them)
  cli?: RegExp; // when present, the row also runs through `train` with these flags, and must exit 2 with this on stderr
}

const MODEL_KEYS = ['nLayer', 'nHead', 'nEmbd', 'blockSize', 'dropout'] as const;
/** The form's number fields (the rest of a TrainConfig follows from them). */
const FORM_KEYS = new Set(['nLayer', 'nHead', 'nEmbd', 'blockSize', 'dropout', 'batchSize', 'maxSteps', 'learningRate', 'seed']);
const hyperRows: HyperRow[] = [
  {
    name: 'layers 0',
    set: { nLayer: 0 },
    field: 'nLayer',
    message: /^nLayer must be at least 1, got 0$/,
    cli: /--layers must be at least 1, got 0$/,
  },
  {
    name: 'layers negative',
    set: { nLayer: -2 },
    field: 'nLayer',
    message: /^nLayer must be at least 1, got -2$/,
    cli: /--layers must be at least 1, got -2$/,
  },
  {
    name: 'layers non-integer',
    set: { nLayer: 1.5 },
    field: 'nLayer',
    message: /^nLayer must be a whole number, got 1.5$/,
    cli: /--layers must be a whole number, got 1.5$/,
  },
  {
    name: 'layers huge',
    set: { nLayer: 1e9 },
    field: 'nLayer',
    message: /^nLayer must be at most 64, got 1000000000$/,
    cli: /--layers must be at most 64/,
  },
  {
    name: 'layers NaN (an emptied field)',
    set: { nLayer: NaN },
    field: 'nLayer',
    message: /^nLayer must be a whole number, got NaN$/,
    cli: /--layers must be a number, got "NaN"/,
  },
  { name: 'heads 0', set: { nHead: 0 }, field: 'nHead', message: /^nHead must be at least 1, got 0$/ },
  { name: 'heads negative', set: { nHead: -4 }, field: 'nHead', message: /^nHead must be at least 1, got -4$/ },
  { name: 'heads non-integer', set: { nHead: 2.5 }, field: 'nHead', message: /^nHead must be a whole number, got 2.5$/ },
  { name: 'heads huge', set: { nHead: 1000 }, field: 'nHead', message: /^nHead must be at most 64, got 1000$/ },
  {
    name: 'heads not dividing the width',
    set: { nHead: 3 },
    field: 'nHead',
    message: /^nEmbd \(64\) must be divisible by nHead \(3\)$/,
    cli: /--heads 3: --embd \(16\) must be divisible by --heads \(3\)$/,
  },
  {
    name: 'heads more than the width',
    set: { nHead: 32, nEmbd: 16 },
    field: 'nHead',
    message: /^nEmbd \(16\) must be divisible by nHead \(32\)$/,
  },
  { name: 'width 0', set: { nEmbd: 0 }, field: 'nEmbd', message: /^nEmbd must be at least 1, got 0$/ },
  { name: 'width negative', set: { nEmbd: -64 }, field: 'nEmbd', message: /^nEmbd must be at least 1, got -64$/ },
  { name: 'width non-integer', set: { nEmbd: 63.5 }, field: 'nEmbd', message: /^nEmbd must be a whole number, got 63.5$/ },
  { name: 'width huge', set: { nEmbd: 1e6 }, field: 'nEmbd', message: /^nEmbd must be at most 4096, got 1000000$/ },
  {
    name: 'layers and width each in range, together too big to train',
    set: { nLayer: 64, nEmbd: 4096 },
    field: 'nEmbd',
    message:
      /^64 layers of width 4096 make 12\.9 billion parameters, 192\.\d GB to train with AdamW; the limit is 4\.0 GB: use fewer layers or a smaller width$/,
    cli: /--embd 4096: 64 layers of width 4096 make 12\.9 billion parameters/,
  },
  { name: 'context 0', set: { blockSize: 0 }, field: 'blockSize', message: /^blockSize must be at least 1, got 0$/ },
  { name: 'context negative', set: { blockSize: -1 }, field: 'blockSize', message: /^blockSize must be at least 1, got -1$/ },
  { name: 'context non-integer', set: { blockSize: 8.5 }, field: 'blockSize', message: /^blockSize must be a whole number, got 8.5$/ },
  {
    name: 'context huge',
    set: { blockSize: 1e9 },
    field: 'blockSize',
    message: /^blockSize must be at most 4096, got 1000000000$/,
    cli: /--ctx must be at most 4096/,
  },
  { name: 'dropout negative', set: { dropout: -0.1 }, field: 'dropout', message: /^dropout must be in \[0, 1\), got -0.1$/ },
  {
    name: 'dropout 1',
    set: { dropout: 1 },
    field: 'dropout',
    message: /^dropout must be in \[0, 1\), got 1$/,
    cli: /--dropout must be in \[0, 1\), got 1$/,
  },
  { name: 'dropout NaN', set: { dropout: NaN }, field: 'dropout', message: /^dropout must be a finite number, got NaN$/ },
  { name: 'batch 0', set: { batchSize: 0 }, field: 'batchSize', message: /^batchSize must be at least 1, got 0$/ },
  { name: 'batch negative', set: { batchSize: -4 }, field: 'batchSize', message: /^batchSize must be at least 1, got -4$/ },
  { name: 'batch non-integer', set: { batchSize: 2.5 }, field: 'batchSize', message: /^batchSize must be a whole number, got 2.5$/ },
  { name: 'batch huge', set: { batchSize: 1e6 }, field: 'batchSize', message: /^batchSize must be at most 4096, got 1000000$/ },
  {
    name: 'batch, context and width each in range, one step too big for memory',
    set: { batchSize: 4096, blockSize: 512, nEmbd: 512, nHead: 8 },
    field: 'batchSize',
    message:
      /^2 layers of width 512 \(6\.\d M parameters\) with batchSize 4096 × blockSize 512 needs about \d+\.\d GiB \(weights and AdamW \d+ MiB, activations \d+\.\d GiB, a checkpoint's copies \d+(\.\d)? [MG]iB\); the 4\.0 GiB a tab can count on is the limit: use a smaller batch, context or model$/,
    cli: /--batch 4096 × --ctx 512 needs about \d+\.\d GiB on wasm \(weights and AdamW \d+ MiB, activations \d+\.\d GiB\); the wasm heap's 4\.0 GiB is the limit/,
  },
  { name: 'steps 0', set: { maxSteps: 0 }, field: 'maxSteps', message: /^maxSteps must be at least 1, got 0$/ },
  { name: 'steps negative', set: { maxSteps: -100 }, field: 'maxSteps', message: /^maxSteps must be at least 1, got -100$/ },
  { name: 'steps non-integer', set: { maxSteps: 10.5 }, field: 'maxSteps', message: /^maxSteps must be a whole number, got 10.5$/ },
  { name: 'steps huge', set: { maxSteps: 1e12 }, field: 'maxSteps', message: /^maxSteps must be at most 1000000000, got 1000000000000$/ },
  {
    name: 'learning rate 0',
    set: { learningRate: 0 },
    field: 'learningRate',
    message: /^learningRate must be in \(0, 10\], got 0$/,
    cli: /--lr must be in \(0, 10\], got 0$/,
  },
  {
    name: 'learning rate negative',
    set: { learningRate: -1e-3 },
    field: 'learningRate',
    message: /^learningRate must be in \(0, 10\], got -0.001$/,
    cli: /--lr must be in \(0, 10\], got -0.001$/,
  },
  {
    name: 'learning rate huge',
    set: { learningRate: 1e6 },
    field: 'learningRate',
    message: /^learningRate must be in \(0, 10\], got 1000000$/,
  },
  {
    name: 'learning rate NaN',
    set: { learningRate: NaN },
    field: 'learningRate',
    message: /^learningRate must be a finite number, got NaN$/,
    cli: /--lr must be a number, got "NaN"/,
  },
  {
    name: 'final learning rate above the peak',
    set: { minLr: 0.1 },
    field: 'minLr',
    message: /^minLr \(0.1\) must not exceed learningRate \(0.003\)$/, // the default peak
    cli: /--min-lr \(0.1\) must not exceed --lr \(0.003\)$/,
  },
  { name: 'final learning rate negative', set: { minLr: -1 }, field: 'minLr', message: /^minLr must be in \[0, 10\], got -1$/ },
  {
    name: 'warm-up negative',
    set: { warmupSteps: -5 },
    field: 'warmupSteps',
    message: /^warmupSteps must be at least 0, got -5$/,
    cli: /--warmup must be at least 0/,
  },
  {
    name: 'warm-up non-integer',
    set: { warmupSteps: 1.5 },
    field: 'warmupSteps',
    message: /^warmupSteps must be a whole number, got 1.5$/,
  },
  {
    name: 'weight decay negative',
    set: { weightDecay: -0.1 },
    field: 'weightDecay',
    message: /^weightDecay must be in \[0, 10\], got -0.1$/,
  },
  { name: 'gradient clip negative', set: { gradClip: -1 }, field: 'gradClip', message: /^gradClip must be in \[0, 1000000\], got -1$/ },
  {
    name: 'gradient clip huge',
    set: { gradClip: 1e9 },
    field: 'gradClip',
    message: /^gradClip must be in \[0, 1000000\], got 1000000000$/,
  },
  {
    name: 'seed negative',
    set: { seed: -1 },
    field: 'seed',
    message: /^seed must be at least 0, got -1$/,
    cli: /--seed must be at least 0, got -1$/,
  },
  { name: 'seed non-integer', set: { seed: 1.5 }, field: 'seed', message: /^seed must be a whole number, got 1.5$/ },
  {
    name: 'seed huge',
    set: { seed: 2 ** 32 },
    field: 'seed',
    message: /^seed must be at most 4294967295, got 4294967296$/,
    cli: /--seed must be at most 4294967295, got 4294967296$/,
  },
  { name: 'eval interval negative', set: { evalEvery: -1 }, field: 'evalEvery', message: /^evalEvery must be at least 0, got -1$/ },
  { name: 'eval batches 0', set: { evalBatches: 0 }, field: 'evalBatches', message: /^evalBatches must be at least 1, got 0$/ },
  { name: 'log interval 0', set: { logEvery: 0 }, field: 'logEvery', message: /^logEvery must be at least 1, got 0$/ },
  { name: 'AdamW beta1 of 1', set: { beta1: 1 }, field: 'beta1', message: /^beta1 must be in \[0, 1\), got 1$/ },
  { name: 'AdamW eps 0', set: { eps: 0 }, field: 'eps', message: /^eps must be in \(0, 1\], got 0$/ },
];

/** The configs a row describes, over the defaults, with the bundled corpus's vocabulary. */
function configsOf(set: Settings): { model: ModelConfig; train: TrainConfig } {
  const model: ModelConfig = { ...defaultModelConfig, vocabSize: 83 };
  const trainConfig: TrainConfig = { ...defaultTrainConfig };
  for (const [k, v] of Object.entries(set)) {
    if ((MODEL_KEYS as readonly string[]).includes(k)) (model as unknown as Record<string, unknown>)[k] = v;
    else (trainConfig as unknown as Record<string, unknown>)[k] = v;
  }
  return { model, train: trainConfig };
}

// ---------------------------------------------------------------------------------------------
// The core

interface CoreRow {
  name: string;
  act: () => unknown; // may be async; without `error` it must succeed (and checks what it got)
  error?: RegExp; // the message it must throw
}

/** A minimal IndexedDB in memory, whose readwrite transactions commit all or nothing, and fail on demand. */
function fakeIndexedDB() {
  const stores = new Map<string, Map<string, unknown>>([
    ['runs', new Map()],
    ['runs-index', new Map()],
  ]);
  const control = { fail: null as DOMException | null, throwOnPut: null as DOMException | null };
  const later = (f: () => void) => setTimeout(f);
  const request = <T>(get: () => T) => {
    const req = { result: undefined as T | undefined, error: null, onsuccess: null as (() => void) | null, onerror: null };
    later(() => {
      req.result = get();
      req.onsuccess?.();
    });
    return req;
  };
  const db = {
    transaction(_names: string | string[], mode: 'readonly' | 'readwrite' = 'readonly') {
      const pending: (() => void)[] = [];
      let aborted = false;
      const tx = {
        error: null as DOMException | null,
        oncomplete: null as (() => void) | null,
        onerror: null as (() => void) | null,
        onabort: null as (() => void) | null,
        abort() {
          aborted = true;
          tx.error ??= new DOMException('the transaction was aborted', 'AbortError');
          later(() => tx.onabort?.());
        },
        objectStore(name: string) {
          const store = stores.get(name)!;
          return {
            put(record: { key: string }) {
              if (control.throwOnPut) throw control.throwOnPut;
              pending.push(() => store.set(record.key, structuredClone(record)));
              return request(() => record.key);
            },
            delete(key: string) {
              pending.push(() => store.delete(key));
              return request(() => undefined);
            },
            get: (key: string) => request(() => store.get(key)),
            getAll: () => request(() => [...store.values()]),
          };
        },
      };
      // Commits after its requests, or aborts with the chosen error: nothing of it is written then.
      later(() =>
        later(() => {
          if (aborted) return;
          if (mode === 'readwrite' && control.fail) {
            tx.error = control.fail;
            tx.onabort?.();
            return;
          }
          for (const apply of pending) apply();
          tx.oncomplete?.();
        }),
      );
      return tx;
    },
  };
  const idb = {
    open() {
      const req = { result: db, onsuccess: null as (() => void) | null, onupgradeneeded: null, onerror: null, onblocked: null };
      later(() => req.onsuccess?.());
      return req;
    },
  };
  return { idb, control };
}

interface Store {
  put(run: unknown): Promise<void>;
  list(): Promise<{ key: string; step: number }[]>;
  get(key: string): Promise<{ bytes: Uint8Array } | undefined>;
}
// A path in a variable: the store is type-checked with the DOM's types (tsconfig.json), not under this file's Node types.
const storeModule = '../../src/lib/run-store.ts';
const { RunStore } = (await import(/* @vite-ignore */ storeModule)) as { RunStore: new () => Store };

const savedRun = (step: number) => ({
  key: 'run-1',
  name: 'unicode · 1×16 · ctx 16',
  date: step,
  step,
  valLoss: 2.5,
  bytes: Uint8Array.of(step & 255, 1, 2, 3),
  corpus: { name: 'unicode.txt', source: 'file' as const, text: unicodeCorpus },
});

/** Runs `f` with a fake IndexedDB installed on the global scope. */
async function withIndexedDB<T>(f: (control: ReturnType<typeof fakeIndexedDB>['control']) => Promise<T>): Promise<T> {
  const { idb, control } = fakeIndexedDB();
  (globalThis as { indexedDB?: unknown }).indexedDB = idb;
  try {
    return await f(control);
  } finally {
    delete (globalThis as { indexedDB?: unknown }).indexedDB;
  }
}

const quota = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');

const coreRows: CoreRow[] = [
  // Corpus files: refused before anything replaces the loaded corpus (decodeCorpus only reads).
  { name: 'empty file', act: () => decodeCorpus(new Uint8Array(0), 'empty.txt'), error: /^empty.txt is empty$/ },
  { name: 'file of only a byte-order mark', act: () => decodeCorpus(enc('\ufeff'), 'bom.txt'), error: /^bom.txt is empty$/ },
  {
    name: 'binary file (a PNG)',
    act: () =>
      decodeCorpus(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]), 'x.png'),
    error: /^x.png looks like a binary file \(it contains NUL bytes\), not text$/,
  },
  {
    name: 'invalid UTF-8 (Latin-1 "café")',
    act: () => decodeCorpus(Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x61, 0x75]), 'cafe.txt'),
    error: /^cafe.txt is not valid UTF-8 \(first bad byte at offset 3\); save it as UTF-8 text$/,
  },
  {
    name: 'a 100 MB+ file, by its bytes',
    act: () => decodeCorpus({ length: MAX_CORPUS_BYTES + 1 } as Uint8Array, 'big.txt'),
    error: /^big.txt is 100.0 MB; the limit is 100.0 MB$/,
  },
  {
    name: 'a 150 MB file, by its size before reading',
    act: () => checkCorpusSize(150 * 1024 * 1024, 'big.txt'),
    error: /^big.txt is 150.0 MB; the limit is 100.0 MB$/,
  },
  {
    name: 'text of one distinct character',
    act: () => decodeCorpus(enc('a'.repeat(5000)), 'a.txt'),
    error: /^a.txt holds one character, "a" \(U\+0061\), repeated: a model needs at least two distinct characters/,
  },
  {
    name: 'text of one distinct emoji',
    act: () => decodeCorpus(enc('😀'.repeat(500)), 'e.txt'),
    error: /holds one character, "😀" \(U\+1F600\), repeated/,
  },
  {
    name: 'text of one distinct character after a byte-order mark',
    act: () => decodeCorpus(enc('\ufeff\n\n\n'), 'nl.txt'),
    error: /holds one character, "\\n" \(U\+000A\), repeated/,
  },
  {
    name: 'one distinct character, handed to the training core directly',
    act: () => prepareRun('b'.repeat(5000), tinyModel, tinyTrain),
    error:
      /^invalid model config: vocabSize must be at least 2 \(a text needs two distinct characters for a model to have anything to predict\), got 1$/,
  },
  {
    name: 'corpus shorter than context + 1',
    act: () => splitTrainVal(new CharTokenizer([...'ab']).encode('ab'.repeat(50)), 16),
    error: new RegExp(
      `^the corpus has 100 characters: too short for a context of 16\\. Its 10% validation split must hold 17 characters, so the corpus needs at least ${minCorpusLength(16)}\\.$`,
    ),
  },
  {
    name: 'corpus shorter than context + 1, through the training core',
    act: () => prepareRun('abc'.repeat(30), tinyModel, tinyTrain),
    error: /the corpus has 90 characters: too short for a context of 16/,
  },
  {
    name: 'a validation split one character short of context + 1',
    act: () => checkSplit(200, 16, 16),
    error: /^the corpus has 216 characters: too short for a context of 16\./,
  },
  {
    name: 'sequential batches that do not fit the train split',
    act: () => new Batcher(new Int32Array(100), 8, 16, 'sequential', 1),
    error:
      /^sequential partitioning into 8 streams of 16 characters needs a training split of at least 129 characters; it has 100\. Use a smaller batch or context, or random sampling\.$/,
  },
  {
    name: 'a context of a billion (or of 10^14): the minimum corpus length is computed, not counted up to',
    act: () => {
      expect(minCorpusLength(1e9)).toBe(10_000_000_001);
      expect(minCorpusLength(1e14)).toBe(1_000_000_000_000_001); // a loop up to 10^15 would never return
    },
  },

  // Odd Unicode is text, not an error: one token per code point, round-tripped exactly.
  ...Object.entries(scripts).map(([name, text]): CoreRow => ({
    name: `${name} text decodes, tokenizes by code point and decodes back unchanged`,
    act: () => {
      expect(decodeCorpus(enc(text + ' ' + text), `${name}.txt`)).toBe(text + ' ' + text);
      const t = CharTokenizer.fromText(text);
      const ids = t.encode(text);
      expect(ids.length).toBe(Array.from(text).length);
      expect(t.decode(ids)).toBe(text);
    },
  })),
  {
    name: 'a ZWJ emoji family is 5 tokens and a decomposed "é" 2 (no normalisation)',
    act: () => {
      const t = CharTokenizer.fromText(unicodeCorpus);
      expect(t.encode('👩‍👩‍👧')).toHaveLength(5);
      expect(t.encode('e\u0301')).toHaveLength(2);
      expect(t.vocab).toContain('\u0301');
    },
  },
  {
    name: 'the mixed-script corpus trains: the loss falls and stays finite',
    act: async () => {
      const { train: tr, val } = await run.trainer.estimateLoss();
      expect(Number.isFinite(tr) && Number.isFinite(val)).toBe(true);
      expect(val).toBeLessThan(Math.log(run.tokenizer.size) - 0.5); // below a uniform guess
    },
  },
  ...Object.entries(scripts).map(([name, text]): CoreRow => ({
    name: `a ${name} prompt samples characters of the vocabulary`,
    act: () =>
      noLeak(async () => {
        const out = await collect(text, 24, 0.8, 3);
        expect(Array.from(out)).toHaveLength(24);
        for (const ch of out) expect(tok().vocab).toContain(ch);
      }),
  })),
  ...Object.entries(scripts).map(([name, text]): CoreRow => ({
    name: `${name} text scores: one finite surprisal per predicted code point`,
    act: () =>
      noLeak(async () => {
        const s = await score(model(), tok(), text);
        expect(s.chars).toEqual(Array.from(text).slice(1));
        expect(s.surprisal).toHaveLength(Array.from(text).length - 1);
        for (const x of s.surprisal) expect(x).toBeGreaterThanOrEqual(0);
        expect(Number.isFinite(s.logProb)).toBe(true);
      }),
  })),
  {
    name: 'a checkpoint keeps a Unicode vocabulary: the loaded model scores the same',
    act: async () => {
      const ck = loadCheckpoint(goodCheckpoint);
      try {
        expect(ck.tokenizer.vocab).toEqual(tok().vocab);
        const text = Object.values(scripts).join(' ');
        expect((await score(ck.model, ck.tokenizer, text)).logProb).toBeCloseTo((await score(model(), tok(), text)).logProb, 5);
      } finally {
        ck.model.dispose();
      }
    },
  },

  // Hyper-parameters: the validators name the field and the value.
  ...hyperRows.map((r): CoreRow => ({
    name: `config: ${r.name}`,
    act: () => {
      const { model: m, train: t } = configsOf(r.set);
      const issues = [...validateModelConfig(m), ...validateTrainConfig(t), ...validateRunFits(m, t, null)];
      expect(
        issues.map((i) => i.field),
        'one problem, reported on one field',
      ).toEqual([r.field]);
      assertNoIssues(issues);
    },
    error: new RegExp(`^\\[${r.field}\\] ${r.message.source.replace(/^\^/, '')}`),
  })),
  {
    name: 'config: the training core refuses what the validators refuse, before a tensor is made',
    act: () => noLeak(() => prepareRun(unicodeCorpus, { ...tinyModel, nHead: 3 }, tinyTrain)),
    error: /^invalid model config: nEmbd \(16\) must be divisible by nHead \(3\)$/,
  },

  // Temperature.
  {
    name: 'temperature 0 is argmax (ties share the mass)',
    act: () => {
      expect(annealedDistribution([0.1, 0.6, 0.3], 0)).toEqual([0, 1, 0]);
      expect(annealedDistribution([0.4, 0.2, 0.4], 0)).toEqual([0.5, 0, 0.5]);
    },
  },
  {
    name: 'temperature 1e-9 is argmax, without NaN',
    act: () => {
      const d = annealedDistribution([0.1, 0.6, 0.3 - 1e-12], 1e-9);
      expect(d).toEqual([0, 1, 0]);
      expect(annealedDistribution([1e-300, 1 - 1e-16], 1e-9).every(Number.isFinite)).toBe(true);
    },
  },
  {
    name: 'temperature 1e6 is near uniform over the characters with p > 0',
    act: () => {
      const d = annealedDistribution([0.001, 0.9, 0.099, 0], 1e6);
      for (const p of d.slice(0, 3)) expect(p).toBeCloseTo(1 / 3, 5);
      expect(d[3]).toBe(0);
    },
  },
  { name: 'temperature negative', act: () => annealedDistribution([0.5, 0.5], -1), error: /^temperature must be a number ≥ 0, got -1$/ },
  { name: 'temperature NaN', act: () => annealedDistribution([0.5, 0.5], NaN), error: /^temperature must be a number ≥ 0, got NaN$/ },
  {
    name: 'generate at temperature 0 ignores the seed; 1e-9 gives the same text',
    act: async () => {
      const greedy = await collect(scripts.cjk, 20, 0, 1);
      expect(await collect(scripts.cjk, 20, 0, 2)).toBe(greedy);
      expect(await collect(scripts.cjk, 20, 1e-9, 3)).toBe(greedy);
    },
  },
  {
    name: 'generate at temperature 1e6 draws near-uniformly from the vocabulary',
    act: async () => {
      const out = Array.from(await collect(' ', 400, 1e6, 5));
      expect(new Set(out).size).toBeGreaterThan(0.8 * tok().size);
    },
  },
  {
    name: 'generate at a negative temperature',
    act: () => noLeak(() => collect('a', 5, -0.5)),
    error: /^temperature must be a number ≥ 0, got -0.5$/,
  },
  {
    name: 'generate at temperature NaN',
    act: () => noLeak(() => collect('a', 5, NaN)),
    error: /^temperature must be a number ≥ 0, got NaN$/,
  },

  // Prompts.
  {
    name: 'a prompt with a character the model has never seen',
    act: () => noLeak(() => collect('春x', 5, 1)),
    error: /^character "x" \(U\+0078\) at position 1 is not in the model's vocabulary of \d+ characters$/,
  },
  {
    name: 'an empty prompt',
    act: () => noLeak(() => collect('', 5, 1)),
    error: /^the prompt is empty: give at least one character to continue from \(the model has no start token\)$/,
  },
  {
    name: 'a prompt three times the context is cropped, not an error',
    act: () =>
      noLeak(async () => {
        const prompt = Array.from(unicodeCorpus)
          .slice(0, 3 * tinyModel.blockSize)
          .join('');
        expect(Array.from(await collect(prompt, 30, 0.8))).toHaveLength(30);
      }),
  },

  // Generation length.
  { name: 'length 0 yields nothing', act: async () => expect(await collect('a', 0, 1)).toBe('') },
  {
    name: 'length 100,000 is accepted (the first characters are drawn; the rest are not awaited)',
    act: () =>
      noLeak(async () => {
        expect(MAX_GENERATE_LENGTH).toBe(100_000);
        const it = generate(model(), tok(), ' ', { length: 100_000, temperature: 1, seed: 1 });
        for (let i = 0; i < 3; i++) expect((await it.next()).done).toBe(false);
        await it.return(undefined);
      }),
  },
  { name: 'length 100,001', act: () => collect('a', 100_001, 1), error: /^length must be a whole number from 0 to 100000, got 100001$/ },
  { name: 'length negative', act: () => collect('a', -1, 1), error: /^length must be a whole number from 0 to 100000, got -1$/ },
  { name: 'length non-integer', act: () => collect('a', 2.5, 1), error: /^length must be a whole number from 0 to 100000, got 2.5$/ },

  // Scoring.
  {
    name: 'score a single character',
    act: () => noLeak(() => score(model(), tok(), '春')),
    error: /^scoring needs at least 2 characters \(the first is given, the rest are predicted\); got 1$/,
  },
  { name: 'score an empty text', act: () => noLeak(() => score(model(), tok(), '')), error: /^scoring needs at least 2 characters/ },
  {
    name: 'score a text with an unseen character',
    act: () => noLeak(() => score(model(), tok(), '春眠Z')),
    error: /^character "Z" \(U\+005A\) at position 2 is not in the model's vocabulary/,
  },
  {
    name: 'score a text five times the context (sliding window)',
    act: () =>
      noLeak(async () => {
        const text = Array.from(unicodeCorpus)
          .slice(0, 5 * tinyModel.blockSize)
          .join('');
        expect((await score(model(), tok(), text)).surprisal).toHaveLength(5 * tinyModel.blockSize - 1);
      }),
  },

  // Checkpoint files: refused with what is wrong, before any tensor is made.
  ...(
    [
      [
        'an empty checkpoint file',
        () => new Uint8Array(0),
        /^not a usable checkpoint: the file is 0 bytes, too short for a safetensors header$/,
      ],
      [
        'a checkpoint truncated in its header',
        () => goodCheckpoint.slice(0, 300),
        /^not a usable checkpoint: the header claims \d+ bytes but the file has 300 \(truncated, or not safetensors\)$/,
      ],
      [
        'a checkpoint truncated in its tensors',
        () => goodCheckpoint.slice(0, goodCheckpoint.length - 100),
        /^not a usable checkpoint: tensor .+ lies outside the file \(truncated\?\)$/,
      ],
      [
        'a PNG renamed .safetensors',
        () => Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
        /^not a usable checkpoint: the header claims \d+ bytes but the file has 12/,
      ],
      [
        'a JSON file renamed .safetensors',
        () => enc('{"vocab": ["a", "b"], "config": {}}'),
        /^not a usable checkpoint: the header claims \d+ bytes/,
      ],
      [
        'random bytes',
        () => Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24),
        /^not a usable checkpoint: the header claims \d+ bytes/,
      ],
      [
        'a header that is not JSON',
        () => Uint8Array.from([8, 0, 0, 0, 0, 0, 0, 0, ...enc('not json')]),
        /^not a usable checkpoint: the header is not valid JSON/,
      ],
      [
        'a foreign safetensors file (no config, no vocabulary)',
        () => writeSafetensors([{ name: 'w', shape: [2], data: new Float32Array(2) }], {}),
        /^not a usable checkpoint: its metadata has no model config or vocabulary \(a safetensors file from elsewhere\?\)$/,
      ],
      [
        'a checkpoint of a later format',
        () => tampered((m) => (m.format = 'tabgpt-99')),
        /^not a usable checkpoint: its format is "tabgpt-99"; this version reads tabgpt-1/,
      ],
      [
        'a config that is not JSON',
        () => tampered((m) => (m.config = '{nLayer: 1')),
        /^not a usable checkpoint: its config metadata is not valid JSON$/,
      ],
      [
        'a config whose heads do not divide the width',
        () => tampered((m) => (m.config = JSON.stringify({ ...JSON.parse(m.config), nHead: 3 }))),
        /^not a usable checkpoint: its model config is invalid: nEmbd \(16\) must be divisible by nHead \(3\)$/,
      ],
      [
        'a config too big to train',
        () => tampered((m) => (m.config = JSON.stringify({ ...JSON.parse(m.config), nLayer: 64, nEmbd: 4096 }))),
        /^not a usable checkpoint: its model config is invalid: 64 layers of width 4096 make 12\.9 billion parameters/,
      ],
      [
        'a vocabulary shorter than the config says',
        () => tampered((m) => (m.vocab = JSON.stringify(['a', 'b', 'c']))),
        /^not a usable checkpoint: its vocabulary has 3 characters, its config says \d+$/,
      ],
      [
        'a vocabulary with a repeated character',
        () =>
          tampered((m) => {
            const v = JSON.parse(m.vocab) as string[];
            v[1] = v[0];
            m.vocab = JSON.stringify(v);
          }),
        /^not a usable checkpoint: its vocabulary is invalid: the vocabulary has a repeated character$/,
      ],
      [
        'a vocabulary entry of two characters',
        () =>
          tampered((m) => {
            const v = JSON.parse(m.vocab) as string[];
            v[1] = 'ab';
            m.vocab = JSON.stringify(v);
          }),
        /^not a usable checkpoint: its vocabulary is invalid: vocabulary entry 1 is not one character: "ab"$/,
      ],
      [
        'a tensor of the wrong shape',
        () =>
          tampered((_, t) => {
            const i = t.findIndex((x) => x.name === 'transformer.ln_f.weight');
            t[i] = { ...t[i], shape: [8], data: new Float32Array(8) };
          }),
        /^not a usable checkpoint: tensor transformer.ln_f.weight has shape \[8\], the config needs \[16\]$/,
      ],
      [
        'a missing tensor',
        () =>
          tampered((_, t) =>
            t.splice(
              t.findIndex((x) => x.name === 'transformer.wpe.weight'),
              1,
            ),
          ),
        /^not a usable checkpoint: tensor transformer.wpe.weight is missing$/,
      ],
      [
        'NaN weights',
        () => tampered((_, t) => t.find((x) => x.name === 'transformer.ln_f.weight')!.data.fill(NaN)),
        /^not a usable checkpoint: tensor transformer.ln_f.weight holds NaN or infinite values$/,
      ],
      [
        'a bias=True model (biases have no place)',
        () => tampered((_, t) => t.push({ name: 'transformer.h.0.attn.c_attn.bias', shape: [48], data: new Float32Array(48) })),
        /^not a usable checkpoint: tensor transformer.h.0.attn.c_attn.bias has no place in a bias-free GPT/,
      ],
      [
        'float16 tensors',
        () => {
          const b = goodCheckpoint.slice();
          b.set(enc('"F16"'), indexOfBytes(b, enc('"F32"')));
          return b;
        },
        /^not a usable checkpoint: tensor .+ is F16; only F32 is supported$/,
      ],
      [
        'a malformed training state',
        () => tampered((m) => (m.state = JSON.stringify({ batcher: { rng: [1, 2] }, dropoutRng: [1, 2, 3, 4] }))),
        /^not a usable checkpoint: its training state is malformed$/,
      ],
      [
        'a malformed loss history',
        () => tampered((m) => (m.history = JSON.stringify({ losses: 5 }))),
        /^not a usable checkpoint: its history metadata is not \{losses, evals\}$/,
      ],
      [
        'a malformed corpus record',
        () => tampered((m) => (m.corpus = JSON.stringify('moby-dick'))),
        /^not a usable checkpoint: its corpus metadata is not \{name, sha256\}$/,
      ],
      [
        'an impossible training config',
        () => tampered((m) => (m.train = JSON.stringify({ ...JSON.parse(m.train), batchSize: 0 }))),
        /^invalid training config in checkpoint: batchSize must be at least 1, got 0$/,
      ],
      ['a negative step', () => tampered((m) => (m.step = '-3')), /^not a usable checkpoint: its step is -3$/],
      [
        'two tensors on the same bytes (a small file naming the same data again and again)',
        () =>
          rawSafetensors(
            { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } },
            new Uint8Array(8),
          ),
        /^not a usable checkpoint: tensor [ab] overlaps another tensor's bytes/,
      ],
      [
        'bytes no tensor holds',
        () =>
          rawSafetensors(
            { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } },
            new Uint8Array(12),
          ),
        /^not a usable checkpoint: the data has a hole: no tensor holds bytes 4–8$/,
      ],
      [
        'bytes after the last tensor',
        () => Uint8Array.from([...goodCheckpoint, 1, 2, 3, 4]),
        /^not a usable checkpoint: the file has 4 bytes after its last tensor/,
      ],
      [
        'an output head that differs from the tied embedding',
        () =>
          tampered((_, t) => {
            const h = t.find((x) => x.name === 'lm_head.weight')!;
            h.data = Float32Array.from(h.data, (x, i) => (i === 0 ? x + 1 : x));
          }),
        /^not a usable checkpoint: lm_head.weight differs from transformer.wte.weight, but this GPT ties its output head/,
      ],
      [
        'negative second moments',
        () =>
          tampered((_, t) => {
            const v = t.find((x) => x.name.startsWith('optimizer.exp_avg_sq.'))!;
            v.data = Float32Array.from(v.data, (x, i) => (i === 0 ? -1 : x));
          }),
        /^not a usable checkpoint: tensor optimizer.exp_avg_sq.\S+ holds negative values: second moments are averages of squares$/,
      ],
    ] as [string, () => Uint8Array, RegExp][]
  ).map(([name, bytes, error]): CoreRow => ({
    name: `checkpoint: ${name}`,
    act: () => noLeak(() => loadCheckpoint(bytes()).model.dispose()),
    error,
  })),

  // The saved-runs store (IndexedDB): a full disk is reported, the run goes on, the previous save stays.
  {
    name: 'IndexedDB quota exceeded: the message says so, and the earlier save is still there',
    act: () =>
      withIndexedDB(async (control) => {
        const store = new RunStore();
        await store.put(savedRun(100));
        control.fail = quota();
        await expect(store.put(savedRun(200))).rejects.toThrow(
          /^storage is full: unicode · 1×16 · ctx 16 at step 200 was not saved; the run keeps training\. Delete saved runs or download this one\.$/,
        );
        control.fail = null;
        expect((await store.list()).map((r) => r.step)).toEqual([100]);
        expect(Array.from((await store.get('run-1'))!.bytes)).toEqual([100, 1, 2, 3]);
      }),
  },
  {
    name: 'IndexedDB quota exceeded thrown by the write itself: the same message, no stray rejection',
    act: () =>
      withIndexedDB(async (control) => {
        const store = new RunStore();
        await store.put(savedRun(100));
        control.throwOnPut = quota();
        await expect(store.put(savedRun(200))).rejects.toThrow(/^storage is full: .* at step 200 was not saved; the run keeps training/);
        await new Promise((resolve) => setTimeout(resolve, 20)); // the aborted transaction settles
        control.throwOnPut = null;
        expect((await store.list()).map((r) => r.step)).toEqual([100]);
      }),
  },
  {
    name: "Firefox's quota error name",
    act: () =>
      withIndexedDB(async (control) => {
        control.fail = new DOMException('quota', 'NS_ERROR_DOM_QUOTA_REACHED');
        await expect(new RunStore().put(savedRun(7))).rejects.toThrow(/^storage is full: .* at step 7 was not saved/);
      }),
  },
  {
    name: 'any other IndexedDB write failure, with its reason',
    act: () =>
      withIndexedDB(async (control) => {
        control.fail = new DOMException('disk I/O', 'UnknownError');
        await expect(new RunStore().put(savedRun(9))).rejects.toThrow(
          /^unicode · 1×16 · ctx 16 at step 9 could not be saved \(disk I\/O\); the run keeps training/,
        );
      }),
  },
  {
    name: 'no IndexedDB at all (a private window)',
    act: () => new RunStore().list(),
    error: /^this browser has no IndexedDB \(a private window\?\): runs cannot be kept$/,
  },
];

describe(`bad input through the core (${coreRows.length} rows)`, () => {
  test.each(coreRows)('$name', async ({ act, error }) => {
    if (error) await expect((async () => act())()).rejects.toThrow(error);
    else await act();
  });
});

// ---------------------------------------------------------------------------------------------
// The settings form

interface FormRow {
  name: string;
  set: Partial<FormValues>;
  corpus?: { characters: number; vocabSize: number };
  field: string;
  message: RegExp;
}

const mobyDick = { characters: 1_190_317, vocabSize: 83 };

const formRows: FormRow[] = [
  ...hyperRows
    .filter((r) => Object.keys(r.set).every((k) => FORM_KEYS.has(k)))
    .map((r): FormRow => ({ name: r.name, set: r.set as Partial<FormValues>, field: r.field, message: r.message })),
  {
    name: 'an emptied number field (null)',
    set: { learningRate: null as unknown as number },
    field: 'learningRate',
    message: /^learningRate is empty: enter a number$/,
  },
  {
    name: 'an emptied whole-number field (null)',
    set: { nEmbd: null as unknown as number },
    field: 'nEmbd',
    message: /^width is empty: enter a whole number$/,
  },
  {
    name: 'corpus shorter than context + 1',
    set: { blockSize: 64 },
    corpus: { characters: 500, vocabSize: 20 },
    field: 'corpus',
    message:
      /^the corpus has 500 characters: too short for a context of 64; it needs at least 641 \(its 10% validation split must hold 65\)$/,
  },
  {
    name: 'sequential batches that do not fit the corpus',
    set: { sampling: 'sequential', batchSize: 64 },
    corpus: { characters: 2000, vocabSize: 20 },
    field: 'sampling',
    message:
      /^sequential sampling cuts the train split into 64 streams of at least 64 characters, so it needs 4,097 characters; it has 1,800\./,
  },
  {
    name: 'a corpus of one distinct character',
    set: {},
    corpus: { characters: 5000, vocabSize: 1 },
    field: 'vocabSize',
    message: /^vocabSize must be at least 2 \(a text needs two distinct characters/,
  },
];

describe(`bad input through the settings form (${formRows.length} rows)`, () => {
  test.each(formRows)('$name', ({ set, corpus, field, message }) => {
    const form = new ConfigForm(corpus ?? mobyDick);
    Object.assign(form.values, set);
    expect(form.valid).toBe(false);
    // One problem, one issue, beside its own field: no second issue about a derived setting the form does not show.
    expect(form.issues.map((i) => i.field)).toEqual([field]);
    // The validators' message, in the form's own words (its labels, not the config's names).
    expect(form.issuesFor(field)[0]).toMatch(new RegExp(inFormTerms(message.source)));
  });

  test('while the corpus loads (no characters yet) the defaults raise no issue and N is known', () => {
    const form = new ConfigForm({ characters: 0, vocabSize: 0 });
    expect(form.issues).toEqual([]);
    expect(form.numbers?.nonEmbedding).toBeGreaterThan(0);
  });

  test('a context of a billion is one issue, found without counting to 10^10', () => {
    expect(corpusIssues({ blockSize: 1e9, batchSize: 16, sampling: 'random' }, 1_000_000)).toEqual([]);
    expect(corpusIssues({ blockSize: 1e14, batchSize: 16, sampling: 'random' }, 1_000_000)).toEqual([]); // a count to 10^15 would never return
  });
});

// ---------------------------------------------------------------------------------------------
// The command line, as users run it

const pexec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-bad-input-'));
const path = (name: string) => join(dir, name);

/** At most two CLIs at a time: each is a Node process loading tfjs, on a small machine. */
const slots = { free: 2, waiting: [] as (() => void)[] };
async function limited<T>(f: () => Promise<T>): Promise<T> {
  if (slots.free > 0) slots.free--;
  else await new Promise<void>((resolve) => slots.waiting.push(resolve)); // handed a slot on release
  try {
    return await f();
  } finally {
    const next = slots.waiting.shift();
    if (next) next();
    else slots.free++;
  }
}

interface CliResult {
  code: number;
  stdout: string;
  lines: Record<string, unknown>[];
  stderr: string;
}

async function cli(args: string[]): Promise<CliResult> {
  return limited(async () => {
    try {
      const { stdout, stderr } = await pexec('node', ['--import', 'tsx', 'src/cli/main.ts', ...args], { maxBuffer: 64 << 20 });
      return {
        code: 0,
        stdout,
        lines: stdout
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
        stderr,
      };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, lines: [], stderr: e.stderr };
    }
  });
}

const tinyFlags = ['--layers', '1', '--heads', '2', '--embd', '16', '--ctx', '16', '--batch', '4', '--backend', 'wasm'];
const ckpt = path('unicode.safetensors'); // trained on the Unicode corpus by the CLI, before the rows
/** The --save target a train row finds already there: a checkpoint (the one file --save may replace), which a refused run must leave as it is. */
const sentinelBytes = () => goodCheckpoint;

interface CliRow {
  name: string;
  args: string[];
  code: 0 | 1 | 2;
  stderr?: RegExp; // for a refusal: the one line of stderr
  check?: (r: CliResult) => void; // for a run that works
  /** `train` rows get `--save <an existing checkpoint>`; a refused run must leave it byte for byte. */
  save?: boolean;
}

/** A tiny two-step train run with `args` over its flags (a flag the row sets replaces the base's: a flag given twice is refused). */
const trainRow = (name: string, args: string[], code: 1 | 2, stderr: RegExp): CliRow => {
  const base = [...tinyFlags, '--steps', '2', '--eval-every', '0', '--eval-batches', '1'];
  const named = new Set(args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]));
  const kept = base.flatMap((a, i) => (i % 2 === 0 && !named.has(a) ? [a, base[i + 1]] : []));
  return { name, args: ['train', ...kept, ...args], code, stderr, save: true };
};

const completion = (r: CliResult) => String(r.lines[0].completion);

const cliRows: CliRow[] = [
  // Corpus files.
  trainRow('empty corpus file', ['--corpus', path('empty.txt')], 2, /^error: --corpus .*empty.txt: the file is empty$/),
  trainRow(
    'binary corpus file',
    ['--corpus', path('binary.bin')],
    2,
    /--corpus .*binary.bin: the file looks like a binary file \(it contains NUL bytes\), not text$/,
  ),
  trainRow(
    'invalid UTF-8 corpus file',
    ['--corpus', path('latin1.txt')],
    2,
    /--corpus .*latin1.txt: the file is not valid UTF-8 \(first bad byte at offset 3\); save it as UTF-8 text$/,
  ),
  trainRow(
    'a 150 MB corpus file (refused before it is read)',
    ['--corpus', path('huge.txt')],
    2,
    /--corpus .*huge.txt: the file is 150.0 MB; the limit is 100.0 MB$/,
  ),
  trainRow(
    'corpus shorter than context + 1',
    ['--corpus', path('short.txt')],
    2,
    /--corpus .*short.txt: the corpus has 9 characters: too short for a context of 16\. .* needs at least \d+\.$/,
  ),
  trainRow(
    'corpus of one distinct character',
    ['--corpus', path('one.txt')],
    2,
    /--corpus .*one.txt: the file holds one character, "a" \(U\+0061\), repeated: a model needs at least two distinct characters/,
  ),
  trainRow('corpus path is a directory', ['--corpus', dir], 2, /--corpus .* is a directory, not a text file$/),
  trainRow(
    'corpus file that does not exist',
    ['--corpus', path('missing.txt')],
    2,
    /--corpus ".*missing.txt" is neither a bundled corpus \(moby-dick, sotu\), a synthetic one \(markov:…, copy:…\), a task \(arith:…, instruct:…, memo:…\) nor a file$/,
  ),

  // Hyper-parameters.
  ...hyperRows
    .filter((r) => r.cli)
    .map((r) =>
      trainRow(
        `train: ${r.name}`,
        Object.entries(r.set).flatMap(([k, v]) => [`--${FIELD_FLAGS[k as keyof typeof FIELD_FLAGS]}`, String(v)]),
        2,
        r.cli!,
      ),
    ),
  // Models that passed a 4 GiB estimate and then died in the wasm heap: refused before tfjs loads.
  trainRow(
    'a 1-layer model 4096 wide: its weights alone overflow the wasm heap',
    ['--layers', '1', '--heads', '64', '--embd', '4096', '--ctx', '16', '--batch', '1'],
    2,
    /^error: --embd 4096: 1 layer of width 4096 \(201\.\d M parameters\) with --batch 1 × --ctx 16 needs about 8\.\d GiB on wasm \(weights and AdamW 8\.\d GiB, activations \d+ MiB\); the wasm heap's 4\.0 GiB is the limit: use fewer layers or a smaller width$/,
  ),
  trainRow(
    "a context of 4096 with 8 heads: one sequence's attention maps overflow the wasm heap",
    ['--embd', '16', '--heads', '8', '--ctx', '4096', '--batch', '1'],
    2,
    /^error: --batch 1: 1 layer of width 16 \(0\.\d M parameters\) with --batch 1 × --ctx 4096 needs about 4\.\d GiB on wasm .*the wasm heap's 4\.0 GiB is the limit: use a smaller batch, context or model$/,
  ),
  trainRow(
    'two bad flags are both named',
    ['--layers', '0', '--steps', '-1'],
    2,
    /--layers must be at least 1, got 0; --steps must be at least 1, got -1$/,
  ),

  // Where the checkpoint goes: checked before training, so a finished run is never lost.
  {
    name: '--save into a directory that does not exist',
    args: ['train', ...tinyFlags, '--steps', '2', '--save', path('no/such/dir/run.safetensors')],
    code: 2,
    stderr: /--save .*run.safetensors: the directory .*dir does not exist$/,
    check: () => expect(existsSync(path('no'))).toBe(false),
  },
  {
    name: '--save onto a directory',
    args: ['train', ...tinyFlags, '--steps', '2', '--save', dir],
    code: 2,
    stderr: /--save .* is a directory; give a file path$/,
  },
  {
    name: '--save ending in a slash',
    args: ['train', ...tinyFlags, '--steps', '2', '--save', `${path('newdir')}/`],
    code: 2,
    stderr: /--save .*newdir\/ is a directory; give a file path$/,
  },
  {
    name: '--save empty',
    args: ['train', ...tinyFlags, '--steps', '2', '--save', ''],
    code: 2,
    stderr: /^error: --save is empty; give a file path$/,
  },
  {
    name: '--save with a name too long for the file system',
    args: ['train', ...tinyFlags, '--steps', '2', '--save', path(`${'x'.repeat(300)}.safetensors`)],
    code: 2,
    stderr: /--save .*: a file cannot be written there \(the name is too long\)$/,
  },
  {
    name: '--save onto the corpus file itself',
    args: ['train', ...tinyFlags, '--steps', '2', '--corpus', path('unicode.txt'), '--save', path('unicode.txt')],
    code: 2,
    stderr: /--save .*unicode.txt is the corpus: saving would overwrite it; give another path$/,
    check: () => expect(readFileSync(path('unicode.txt'), 'utf8')).toBe(unicodeCorpus),
  },
  trainRow(
    '--resume "" is refused, not a fresh run over the --save file',
    ['--resume', ''],
    2,
    /^error: --resume is empty; give a file path$/,
  ),
  trainRow(
    '--init-from "" is refused, not a fresh run over the --save file',
    ['--init-from', ''],
    2,
    /^error: --init-from is empty; give a file path$/,
  ),

  // sweep: every model checked before the backend starts, naming the sweep's own flags.
  {
    name: 'sweep with a learning rate of 0',
    args: ['sweep', '--corpus', path('unicode.txt'), '--sizes', '1x8', '--lr', '0', '--backend', 'webgpu'],
    code: 2,
    stderr: /^error: --lr must be in \(0, 10\], got 0$/,
  },
  {
    name: 'sweep with a batch too big for memory',
    args: [
      'sweep',
      '--corpus',
      path('unicode.txt'),
      '--sizes',
      '4x1024',
      '--ctx',
      '512',
      '--batch',
      '4096',
      '--tokens',
      '2097152', // one step of 4096 × 512
      '--backend',
      'webgpu',
    ],
    code: 2,
    stderr:
      /^error: --batch 4096: 4 layers of width 1024 \(50\.9 M parameters\) with --batch 4096 × --ctx 512 needs about \d+\.\d GiB \(weights and AdamW \d+ MiB, activations \d+\.\d GiB, a checkpoint's copies \d+(\.\d)? [MG]iB\); the 4\.0 GiB a tab can count on is the limit: use a smaller batch, context or model$/,
  },
  {
    name: 'sweep with a shape whose default heads pass the limit: said in the --sizes words',
    args: ['sweep', '--sizes', '64x4096', '--tokens', '100000'],
    code: 2,
    stderr:
      /^error: --sizes 64x4096: model 64x4096: heads must be at most 64, got 256 \(heads are one per 16 channels unless written, as in 2x64h4\)$/,
  },
  {
    name: 'sweep --points 1e9: more points than any model has steps',
    args: ['sweep', '--sizes', '1x16', '--tokens', '100000', '--points', '1e9'],
    code: 2,
    stderr: /^error: --points 1e9: the longest model trains 98 steps, and records at most one point a step$/,
  },
  {
    name: 'baseline --k 1e308: too large to compute, not a null loss',
    args: ['baseline', '--smoothing', 'addk', '--k', '1e308', '--corpus', 'moby-dick'],
    code: 2,
    stderr:
      /^error: --k 1e308: too large to compute \(k × 83 characters overflows a double\); add-k smoothing near k = 1e6 is already the uniform model$/,
  },
  {
    name: 'sweep with a size that is not a shape',
    args: ['sweep', '--sizes', '2x30h4'],
    code: 2,
    stderr: /^error: --sizes: 2x30h4: the width 30 must be divisible by the 4 heads$/,
  },

  // batches: the limits train has, checked before anything is allocated.
  {
    name: 'batches with a batch of a billion',
    args: ['batches', '--batch', '1000000000', '--ctx', '16'],
    code: 2,
    stderr: /^error: --batch must be at most 4096, got 1000000000$/,
  },
  {
    name: 'batches with a seed past 2^32 - 1',
    args: ['batches', '--seed', '4294967296'],
    code: 2,
    stderr: /^error: --seed must be at most 4294967295, got 4294967296$/,
  },
  {
    name: 'batches with a context of 10^6',
    args: ['batches', '--ctx', '1000000'],
    code: 2,
    stderr: /^error: --ctx must be at most 4096, got 1000000$/,
  },

  // Numbers: decimal only, read by one parser for every numeric flag of every command (before any file or backend).
  trainRow('train --steps 0x10 (hex)', ['--steps', '0x10'], 2, /^error: --steps must be a number written in decimal, got "0x10"$/),
  trainRow('train --lr 0b11 (binary)', ['--lr', '0b11'], 2, /^error: --lr must be a number written in decimal, got "0b11"$/),
  trainRow('train --layers 0o7 (octal)', ['--layers', '0o7'], 2, /^error: --layers must be a number written in decimal, got "0o7"$/),
  trainRow('train --steps 1e400 (past a double)', ['--steps', '1e400'], 2, /^error: --steps must be a finite number, got "1e400"$/),
  trainRow('train --lr Infinity', ['--lr', 'Infinity'], 2, /^error: --lr must be a finite number, got "Infinity"$/),
  trainRow('train --clip -Infinity', ['--clip', '-Infinity'], 2, /^error: --clip must be a finite number, got "-Infinity"$/),
  trainRow('train --wd NaN', ['--wd', 'NaN'], 2, /^error: --wd must be a number, got "NaN"$/),
  trainRow('train --batch "" (empty)', ['--batch', ''], 2, /^error: --batch must be a number, got ""$/),
  trainRow('train --steps " 16" (padded)', ['--steps', ' 16'], 2, /^error: --steps must be a number, got " 16"$/),
  trainRow('train --warmup 1_000', ['--warmup', '1_000'], 2, /^error: --warmup must be a number, got "1_000"$/),
  {
    name: 'sample --length 0x10',
    args: ['sample', '--checkpoint', ckpt, '--length', '0x10'],
    code: 2,
    stderr: /^error: --length must be a number written in decimal, got "0x10"$/,
  },
  {
    name: 'sample --temperature 1e400',
    args: ['sample', '--checkpoint', ckpt, '--temperature', '1e400'],
    code: 2,
    stderr: /^error: --temperature must be a finite number, got "1e400"$/,
  },
  {
    name: 'batches --steps 0b11',
    args: ['batches', '--steps', '0b11'],
    code: 2,
    stderr: /^error: --steps must be a number written in decimal, got "0b11"$/,
  },
  {
    name: 'baseline --order 0x2',
    args: ['baseline', '--order', '0x2'],
    code: 2,
    stderr: /^error: --order must be a number written in decimal, got "0x2"$/,
  },
  {
    name: 'baseline --k Infinity',
    args: ['baseline', '--smoothing', 'addk', '--k', 'Infinity'],
    code: 2,
    stderr: /^error: --k must be a finite number, got "Infinity"$/,
  },
  {
    name: 'sweep --tokens 1e400',
    args: ['sweep', '--tokens', '1e400'],
    code: 2,
    stderr: /^error: --tokens must be a finite number, got "1e400"$/,
  },
  {
    name: 'sweep --warmup-frac ""',
    args: ['sweep', '--warmup-frac', ''],
    code: 2,
    stderr: /^error: --warmup-frac must be a number, got ""$/,
  },
  {
    name: 'fit --bootstrap 0x10',
    args: ['fit', '--points', path('points.csv'), '--bootstrap', '0x10'],
    code: 2,
    stderr: /^error: --bootstrap must be a number written in decimal, got "0x10"$/,
  },
  {
    name: 'fit --predict 0x10:1e5',
    args: ['fit', '--points', path('points.csv'), '--predict', '0x10:1e5'],
    code: 2,
    stderr: /^error: --predict entry "0x10:1e5" is not N:D with positive, finite numbers$/,
  },
  {
    name: 'fit --predict 1e6:1e5:7 (three numbers)',
    args: ['fit', '--points', path('points.csv'), '--predict', '1e6:1e5:7'],
    code: 2,
    stderr: /^error: --predict entry "1e6:1e5:7" is not N:D with positive, finite numbers$/,
  },

  // Seeds: one limit, train's (a whole number from 0 to 2^32 - 1), in every command that takes one; none wraps.
  {
    name: 'sample --seed 4294967296',
    args: ['sample', '--checkpoint', ckpt, '--seed', '4294967296'],
    code: 2,
    stderr: /^error: --seed must be at most 4294967295, got 4294967296$/,
  },
  {
    name: 'sample --seed -1',
    args: ['sample', '--checkpoint', ckpt, '--seed', '-1'],
    code: 2,
    stderr: /^error: --seed must be at least 0, got -1$/,
  },
  {
    name: 'sample --seed 1.5',
    args: ['sample', '--checkpoint', ckpt, '--seed', '1.5'],
    code: 2,
    stderr: /^error: --seed must be a whole number, got 1.5$/,
  },
  { name: 'batches --seed -1', args: ['batches', '--seed', '-1'], code: 2, stderr: /^error: --seed must be at least 0, got -1$/ },
  {
    name: 'sweep --seed 4294967296',
    args: ['sweep', '--corpus', path('unicode.txt'), '--sizes', '1x8', '--seed', '4294967296', '--backend', 'webgpu'],
    code: 2,
    stderr: /^error: --seed must be at most 4294967295, got 4294967296$/,
  },
  {
    name: 'fit --seed 4294967296',
    args: ['fit', '--points', path('points.csv'), '--seed', '4294967296'],
    code: 2,
    stderr: /^error: --seed must be at most 4294967295, got 4294967296$/,
  },
  {
    name: 'a corpus of 210,000 distinct characters trains; the trigram reference is left out, saying why',
    args: ['train', ...tinyFlags, '--steps', '2', '--eval-every', '0', '--eval-batches', '1', '--corpus', path('wide.txt')],
    code: 0,
    check: (r) => {
      expect(r.lines[0]).toMatchObject({
        type: 'start',
        vocabSize: 210_000,
        referencesLeftOut: [
          { label: 'trigram', why: '210000 characters make 210000^3 (context, character) pairs, more than a double indexes exactly' },
        ],
      });
      expect((r.lines[0].references as { label: string }[]).map((x) => x.label)).toEqual(['unigram', 'bigram']);
      expect(r.lines.at(-1)).toMatchObject({ type: 'summary', steps: 2 });
    },
  },
  {
    name: 'export-nanogpt --out on a link to nothing: refused before the export is built',
    args: ['export-nanogpt', '--checkpoint', ckpt, '--out', path('dangling-out')],
    code: 2,
    stderr: /^error: --out .*dangling-out is a link to \/nonexistent\/folder\/out, which does not exist; give a folder \(new, or empty\)$/,
  },
  {
    name: 'sample --seed 4294967295 (the largest) samples',
    args: ['sample', '--checkpoint', ckpt, '--prompt', ' ', '--length', '3', '--seed', '4294967295', '--backend', 'wasm'],
    code: 0,
    check: (r) => expect(r.lines[0]).toMatchObject({ type: 'sample', seed: 4294967295 }),
  },

  // --save-every: checked with the other flags, before the corpus is read or a backend starts.
  {
    name: '--save-every without --save',
    args: ['train', ...tinyFlags, '--steps', '2', '--save-every', '1'],
    code: 2,
    stderr: /^error: --save-every says how often to write the --save file: give --save too$/,
  },
  trainRow('--save-every negative', ['--save-every', '-1'], 2, /^error: --save-every must be a whole number ≥ 0, got -1$/),
  trainRow('--save-every non-integer', ['--save-every', '2.5'], 2, /^error: --save-every must be a whole number ≥ 0, got 2.5$/),
  trainRow('--save-every 0x2', ['--save-every', '0x2'], 2, /^error: --save-every must be a number written in decimal, got "0x2"$/),

  // Flag syntax: one line naming the flag, never a parser's multi-line hint.
  trainRow(
    'a flag whose value is missing (the next flag follows)',
    ['--lr', '--steps', '3'],
    2,
    /^error: --lr needs a value, got the flag --steps/,
  ),
  { name: 'a flag with no value at the end', args: ['train', '--steps'], code: 2, stderr: /^error: --steps needs a value$/ },
  {
    name: 'an unknown flag',
    args: ['sample', '--checkpoint', ckpt, '--frobnicate', '1'],
    code: 2,
    stderr: /^error: unknown flag --frobnicate for sample/,
  },
  {
    name: 'a switch given a value',
    args: ['sample', '--checkpoint', ckpt, '--no-kv-cache=yes'],
    code: 2,
    stderr: /^error: --no-kv-cache is a switch and takes no value, got "yes"$/,
  },
  {
    name: 'a stray argument',
    args: ['batches', 'moby-dick'],
    code: 2,
    stderr: /^error: unexpected argument "moby-dick"; flags look like --name value$/,
  },
  trainRow(
    'a synthetic corpus spec with a bad value',
    ['--corpus', 'markov:order=x'],
    2,
    /^error: --corpus markov:order=x: markov spec: order must be a non-negative integer, got "x"$/,
  ),
  {
    name: 'sweep with a budget too long to train',
    args: ['sweep', '--corpus', path('unicode.txt'), '--sizes', '1x8', '--tokens', '1e15', '--backend', 'webgpu'],
    code: 2,
    stderr:
      /^error: --tokens 1e15: model 1x8 would train for 976562500000 steps of 1024 tokens \(--batch 16 × --ctx 64\); the most a run takes is 1000000000 steps$/,
  },
  { name: 'sweep with a budget of 0', args: ['sweep', '--tokens', '0'], code: 2, stderr: /^error: --tokens must be positive, got 0$/ },

  // Checkpoint files.
  {
    name: '--checkpoint truncated',
    args: ['sample', '--checkpoint', path('truncated.safetensors'), '--backend', 'wasm'],
    code: 1,
    stderr: /not a usable checkpoint: the header claims \d+ bytes but the file has 300 \(truncated, or not safetensors\)$/,
  },
  {
    name: '--checkpoint empty',
    args: ['score', '--checkpoint', path('empty.txt'), '--text', 'ab', '--backend', 'wasm'],
    code: 1,
    stderr: /not a usable checkpoint: the file is 0 bytes, too short for a safetensors header$/,
  },
  {
    name: '--checkpoint foreign safetensors',
    args: ['sample', '--checkpoint', path('foreign.safetensors'), '--backend', 'wasm'],
    code: 1,
    stderr: /not a usable checkpoint: its metadata has no model config or vocabulary/,
  },
  {
    name: '--checkpoint a directory',
    args: ['sample', '--checkpoint', dir],
    code: 2,
    stderr: /--checkpoint .* is a directory, not a file$/,
  },
  {
    name: '--checkpoint missing',
    args: ['sample', '--checkpoint', path('missing.safetensors')],
    code: 2,
    stderr: /--checkpoint .*missing.safetensors: no such file$/,
  },
  trainRow(
    '--resume with settings the saved run fixes',
    ['--resume', path('truncated.safetensors')],
    2,
    /--resume continues the saved run with its own settings; drop --layers, --heads, .* \(only --steps, --eval-every, --log-every, --save, --save-every, --noise-scale-every, --forecast-every, --ledger, --backend may change\)$/,
  ),
  {
    name: '--resume from a corrupt checkpoint, nothing else changed',
    args: ['train', '--resume', path('truncated.safetensors'), '--corpus', path('unicode.txt'), '--steps', '9', '--backend', 'wasm'],
    code: 1,
    stderr: /not a usable checkpoint: the header claims \d+ bytes but the file has 300/,
    save: true,
  },
  {
    name: '--init-from a foreign safetensors file',
    args: ['train', '--init-from', path('foreign.safetensors'), '--corpus', path('unicode.txt'), '--steps', '2', '--backend', 'wasm'],
    code: 1,
    stderr: /not a usable checkpoint: its metadata has no model config or vocabulary/,
    save: true,
  },

  // Temperature.
  {
    name: 'temperature negative',
    args: ['sample', '--checkpoint', ckpt, '--temperature', '-1'],
    code: 2,
    stderr: /--temperature must be ≥ 0 \(0 always takes the most probable character\), got -1$/,
  },
  {
    name: 'temperature NaN',
    args: ['sample', '--checkpoint', ckpt, '--temperature', 'NaN'],
    code: 2,
    stderr: /--temperature must be a number, got "NaN"$/,
  },
  {
    name: 'temperature 1e-9 samples (near-argmax)',
    args: ['sample', '--checkpoint', ckpt, '--prompt', scripts.cjk, '--temperature', '1e-9', '--length', '12', '--backend', 'wasm'],
    code: 0,
    check: (r) => expect(Array.from(completion(r))).toHaveLength(12),
  },
  {
    name: 'temperature 1e6 samples (near-uniform)',
    args: ['sample', '--checkpoint', ckpt, '--prompt', ' ', '--temperature', '1e6', '--length', '60', '--backend', 'wasm'],
    code: 0,
    check: (r) => expect(new Set(completion(r)).size).toBeGreaterThan(15),
  },

  // Prompts.
  {
    name: 'prompt with an unseen character',
    args: ['sample', '--checkpoint', ckpt, '--prompt', 'שָׁלוֹם x', '--backend', 'wasm'],
    code: 2,
    stderr: /--prompt: character "x" \(U\+0078\) at position 8 is not in the model's vocabulary of \d+ characters$/,
  },
  {
    name: 'empty prompt',
    args: ['sample', '--checkpoint', ckpt, '--prompt', ''],
    code: 2,
    stderr: /--prompt is empty: give at least one character to continue from \(the model has no start token\)$/,
  },
  {
    name: 'prompt longer than the context (cropped)',
    args: [
      'sample',
      '--checkpoint',
      ckpt,
      '--prompt',
      Array.from(unicodeCorpus).slice(0, 50).join(''),
      '--length',
      '10',
      '--backend',
      'wasm',
    ],
    code: 0,
    check: (r) => expect(Array.from(completion(r))).toHaveLength(10),
  },
  {
    name: 'no --prompt on a model without a newline: the default falls back to a space',
    args: ['sample', '--checkpoint', ckpt, '--length', '5', '--backend', 'wasm'],
    code: 0,
    check: (r) => expect(r.lines[0]).toMatchObject({ type: 'sample', prompt: ' ' }),
  },

  // Generation length.
  {
    name: 'length 0',
    args: ['sample', '--checkpoint', ckpt, '--prompt', ' ', '--length', '0', '--backend', 'wasm'],
    code: 0,
    check: (r) => expect(completion(r)).toBe(''),
  },
  {
    name: 'length 100,001',
    args: ['sample', '--checkpoint', ckpt, '--length', '100001'],
    code: 2,
    stderr: /--length must be a whole number from 0 to 100000, got 100001$/,
  },
  {
    name: 'length negative',
    args: ['sample', '--checkpoint', ckpt, '--length', '-5'],
    code: 2,
    stderr: /--length must be a whole number from 0 to 100000, got -5$/,
  },
  {
    name: 'length non-integer',
    args: ['sample', '--checkpoint', ckpt, '--length', '2.5'],
    code: 2,
    stderr: /--length must be a whole number from 0 to 100000, got 2.5$/,
  },

  // Scoring.
  {
    name: 'score a single character',
    args: ['score', '--checkpoint', ckpt, '--text', '春'],
    code: 2,
    stderr: /--text needs at least 2 characters \(the first is given, the rest are scored\), got 1$/,
  },
  { name: 'score an empty text', args: ['score', '--checkpoint', ckpt, '--text', ''], code: 2, stderr: /--text is empty$/ },
  {
    name: 'score a text with an unseen character',
    args: ['score', '--checkpoint', ckpt, '--text', '春眠Z', '--backend', 'wasm'],
    code: 2,
    stderr: /--text: character "Z" \(U\+005A\) at position 2 is not in the model's vocabulary of \d+ characters$/,
  },
  // Check everything, then spend: each of these is refused before a backend starts or a step runs, naming its flag.
  trainRow(
    '--probe with a context under 4 (before the backend starts)',
    ['--ctx', '2', '--probe'],
    2,
    /^error: --probe needs a context of at least 4 characters \(two copies of 2\); --ctx is 2$/,
  ),
  trainRow('a flag given twice', ['--steps', '5', '--steps', '6'], 2, /^error: --steps is given twice; give it once$/),
  trainRow(
    "--backend webgl (the browser's; Node has none)",
    ['--backend', 'webgl'],
    2,
    /^error: --backend webgl runs only in a browser \(the app\); in the terminal use auto, webgpu, wasm or cpu$/,
  ),
  {
    name: 'batch-ladder --batches 4,4 (one size twice)',
    args: ['batch-ladder', '--batches', '4,4', '--target', '1'],
    code: 2,
    stderr: /^error: --batches lists 4 twice; give each batch size once$/,
  },
  {
    name: 'batch-ladder --batches 4 (one size: nothing to fit)',
    args: ['batch-ladder', '--batches', '4', '--target', '1'],
    code: 2,
    stderr: /^error: --batches needs at least two batch sizes \(the fit of steps against batch size needs two\), got 4$/,
  },
  {
    name: 'batch-ladder --batches 4,8, (a trailing comma)',
    args: ['batch-ladder', '--batches', '4,8,', '--target', '1'],
    code: 2,
    stderr: /^error: --batches "4,8," has an empty entry \(a stray comma\?\)$/,
  },
  {
    name: 'sweep --sizes 1x16, (a trailing comma)',
    args: ['sweep', '--sizes', '1x16,'],
    code: 2,
    stderr: /^error: --sizes: "1x16," has an empty entry \(a stray comma\?\)$/,
  },
  {
    name: 'batch-ladder --tokens 1.5',
    args: ['batch-ladder', '--batches', '4,8', '--target', '1', '--tokens', '1.5'],
    code: 2,
    stderr: /^error: --tokens must be a whole number of tokens \(characters\), got 1.5$/,
  },
  {
    name: 'batch-ladder --tokens below one step of its largest batch',
    args: ['batch-ladder', '--batches', '4,8', '--target', '1', '--ctx', '16', '--tokens', '100'],
    code: 2,
    stderr: /^error: --tokens 100 is less than one step's tokens: the largest of --batches, 8, × --ctx 16 = 128$/,
  },
  { name: 'sweep --tokens 1.5', args: ['sweep', '--tokens', '1.5'], code: 2, stderr: /^error: --tokens must be a whole number of tokens/ },
  {
    name: 'sweep --tokens below one step',
    args: ['sweep', '--tokens', '100', '--batch', '8', '--ctx', '16'],
    code: 2,
    stderr: /^error: --tokens 100 is less than one step's tokens: --batch 8 × --ctx 16 = 128$/,
  },
  {
    name: 'baseline --order 100',
    args: ['baseline', '--order', '100'],
    code: 2,
    stderr: /^error: --order must be a whole number from 1 to 16, got 100$/,
  },
  {
    name: 'baseline --order 1e9',
    args: ['baseline', '--order', '1e9'],
    code: 2,
    stderr: /^error: --order must be a whole number from 1 to 16, got 1000000000$/,
  },
  {
    name: 'fit --bootstrap 1e9',
    args: ['fit', '--points', path('points.csv'), '--bootstrap', '1e9'],
    code: 2,
    stderr: /^error: --bootstrap must be a whole number from 0 to 10000, got 1000000000$/,
  },
  {
    name: 'fit: a CSV cell in hex',
    args: ['fit', '--points', path('hex.csv')],
    code: 2,
    stderr: /^error: .*hex.csv: line 3: N must be a positive decimal number, got "0x10"$/,
  },
  {
    name: 'fit: an empty CSV cell',
    args: ['fit', '--points', path('blank.csv')],
    code: 2,
    stderr: /^error: .*blank.csv: line 2: D must be a positive decimal number, got ""$/,
  },
  {
    name: 'fit: a CSV cell past a double',
    args: ['fit', '--points', path('huge.csv')],
    code: 2,
    stderr: /^error: .*huge.csv: line 2: loss must be a positive decimal number, got "1e400"$/,
  },
  {
    name: 'fit: a JSON line that does not parse',
    args: ['fit', '--points', path('broken.jsonl')],
    code: 2,
    stderr: /^error: .*broken.jsonl: line 2: not valid JSON$/,
  },
  {
    name: 'fit: an empty points file',
    args: ['fit', '--points', path('empty.csv')],
    code: 2,
    stderr: /^error: .*empty.csv is empty: it needs points \(CSV N,D,loss; a JSON array; or sweep's point lines\)$/,
  },
  {
    name: 'forecast: a log without a start line',
    args: ['forecast', '--run', path('steps-only.jsonl')],
    code: 2,
    stderr: /^error: --run .*steps-only.jsonl: no start line \(is it a log of `train`\?\)$/,
  },
  {
    name: 'backtest --law cubic',
    args: ['backtest', '--law', 'cubic'],
    code: 2,
    stderr: /^error: --law must be log or power, got "cubic"$/,
  },
  {
    name: 'ledger: a line that is not an entry',
    args: ['ledger', '--file', path('broken.jsonl')],
    code: 2,
    stderr: /^error: --file .*broken.jsonl, line 1: not a ledger entry$/,
  },
  {
    name: '--save /dev/null (a device)',
    args: ['train', ...tinyFlags, '--steps', '2', '--save', '/dev/null'],
    code: 2,
    stderr: /^error: --save \/dev\/null is a device, not a regular file; give a file path$/,
  },
  {
    name: '--save onto a FIFO',
    args: ['train', ...tinyFlags, '--steps', '2', '--save', path('save.fifo')],
    code: 2,
    stderr: /^error: --save .*save.fifo is a FIFO \(named pipe\), not a regular file; give a file path$/,
  },
  {
    name: '--save under a regular file',
    args: ['train', ...tinyFlags, '--steps', '2', '--save', join(path('unicode.txt'), 'run.safetensors')],
    code: 2,
    stderr: /^error: --save .*unicode.txt\/run.safetensors: .*unicode.txt is a file, not a directory$/,
  },
  {
    name: '--save onto a text file (not a checkpoint) is refused, the file kept',
    args: ['train', ...tinyFlags, '--steps', '2', '--corpus', path('unicode.txt'), '--save', path('notes.txt')],
    code: 2,
    stderr:
      /^error: --save .*notes.txt exists and is not a tabgpt checkpoint; saving would overwrite it: give another path, or remove it first$/,
    check: () => expect(readFileSync(path('notes.txt'), 'utf8')).toBe('my notes'),
  },
  {
    name: '--resume without --corpus on a run trained on a file: asks for it, blames no default',
    args: ['train', '--resume', ckpt, '--steps', '40', '--backend', 'wasm'],
    code: 2,
    stderr: /^error: --resume .*unicode.safetensors: this checkpoint was trained on .*unicode.txt; give it with --corpus$/,
  },
];

describe(`bad input through the CLI (${cliRows.length} rows)`, () => {
  beforeAll(async () => {
    writeFileSync(path('empty.txt'), new Uint8Array(0));
    writeFileSync(
      path('binary.bin'),
      Uint8Array.from({ length: 4096 }, (_, i) => i % 256),
    );
    writeFileSync(path('latin1.txt'), Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x61, 0x75, 0x20, 0x6c, 0x61, 0x69, 0x74]));
    writeFileSync(path('huge.txt'), '');
    truncateSync(path('huge.txt'), 150 * 1024 * 1024); // sparse: no disk is spent, and the CLI must not read it
    writeFileSync(path('short.txt'), 'too short');
    writeFileSync(path('one.txt'), 'a'.repeat(5000));
    writeFileSync(path('unicode.txt'), unicodeCorpus);
    writeFileSync(path('points.csv'), 'N,D,loss\n1e4,1e5,3\n');
    writeFileSync(path('hex.csv'), 'N,D,loss\n1e4,1e5,3\n0x10,1e5,3\n');
    writeFileSync(path('blank.csv'), 'N,D,loss\n1e4,,3\n');
    writeFileSync(path('huge.csv'), 'N,D,loss\n1e4,1e5,1e400\n');
    writeFileSync(path('broken.jsonl'), '{"type":"point","N":1,"D":2,"loss":3}\n{"type":"point",\n');
    writeFileSync(path('empty.csv'), '');
    writeFileSync(path('steps-only.jsonl'), '{"type":"step","step":1,"loss":4.4}\n');
    writeFileSync(path('notes.txt'), 'my notes');
    // 210,000 distinct characters (CJK and the supplementary planes), each twice: a trigram over them cannot be indexed.
    const wide = Array.from({ length: 210_000 }, (_, i) => String.fromCodePoint(i < 20_992 ? 0x4e00 + i : 0x20000 + i - 20_992));
    writeFileSync(path('wide.txt'), wide.join('') + wide.reverse().join(''));
    symlinkSync('/nonexistent/folder/out', path('dangling-out'));
    execFileSync('mkfifo', [path('save.fifo')]);
    writeFileSync(path('truncated.safetensors'), goodCheckpoint.slice(0, 300));
    writeFileSync(path('foreign.safetensors'), writeSafetensors([{ name: 'w', shape: [2], data: new Float32Array(2) }], {}));
    mkdirSync(path('sentinels'));
    // The checkpoint the sample and score rows read: trained on the Unicode corpus by the CLI itself.
    const t = await cli([
      'train',
      ...tinyFlags,
      '--corpus',
      path('unicode.txt'),
      '--steps',
      '30',
      '--lr',
      '1e-2',
      '--eval-every',
      '0',
      '--eval-batches',
      '1',
      '--save',
      ckpt,
    ]);
    expect(t.stderr).toBe('');
    expect(t.code).toBe(0);
  }, 300_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('Unicode round trip: train, sample and score emoji, CJK, combining marks and RTL text', async () => {
    const vocab = [...new Set(Array.from(unicodeCorpus))];
    for (const [name, text] of Object.entries(scripts)) {
      const s = await cli([
        'sample',
        '--checkpoint',
        ckpt,
        '--prompt',
        text,
        '--length',
        '16',
        '--temperature',
        '0.8',
        '--backend',
        'wasm',
      ]);
      expect(s.code, `${name}: ${s.stderr}`).toBe(0);
      expect(s.lines[0].prompt).toBe(text);
      for (const ch of Array.from(completion(s))) expect(vocab).toContain(ch);
      expect(Array.from(completion(s))).toHaveLength(16);
    }
    const text = Object.values(scripts).join(' ');
    const sc = await cli(['score', '--checkpoint', ckpt, '--text', text, '--backend', 'wasm']);
    expect(sc.code, sc.stderr).toBe(0);
    expect(sc.lines[0].chars).toEqual(Array.from(text).slice(1));
    expect(sc.lines[0].surprisal).toHaveLength(Array.from(text).length - 1);
  }, 300_000);

  test('temperature 0 is greedy: two seeds give the same text', async () => {
    const [a, b] = await Promise.all(
      ['1', '2'].map((seed) =>
        cli([
          'sample',
          '--checkpoint',
          ckpt,
          '--prompt',
          scripts.rtl,
          '--temperature',
          '0',
          '--length',
          '20',
          '--seed',
          seed,
          '--backend',
          'wasm',
        ]),
      ),
    );
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(completion(a)).toBe(completion(b));
  }, 300_000);

  test.skipIf(!existsSync('/dev/full'))(
    'a failed write to stdout (a full disk) is one line on stderr and exit 1',
    () => {
      for (const args of [
        ['baseline', '--order', '1', '--corpus', path('unicode.txt')],
        ['sample', '--checkpoint', ckpt, '--length', '3', '--backend', 'wasm'],
      ]) {
        const full = openSync('/dev/full', 'w');
        try {
          const r = spawnSync('node', ['--import', 'tsx', 'src/cli/main.ts', ...args], {
            stdio: ['ignore', full, 'pipe'],
            encoding: 'utf8',
          });
          expect(r.status, args.join(' ')).toBe(1);
          expect(r.stderr).toBe('error: cannot write the output to stdout (ENOSPC)\n');
        } finally {
          closeSync(full);
        }
      }
    },
    300_000,
  );

  test.concurrent.for(cliRows.map((r, i) => ({ ...r, i })))('$name', { timeout: 300_000 }, async (row, { expect }) => {
    const sentinel = join(dir, 'sentinels', `row-${row.i}.safetensors`);
    if (row.save) writeFileSync(sentinel, sentinelBytes());
    const ckptBefore = readFileSync(ckpt);
    // --force: the sentinel is another run's checkpoint, which --save replaces only when told to; each row's own error must come first.
    const r = await cli(row.save ? [...row.args, '--save', sentinel, '--force'] : row.args);
    expect(r.code, r.stderr).toBe(row.code);
    if (row.stderr) {
      expect(r.stderr).toMatch(/^error: [^\n]+\n$/); // one line: no stack trace, no noise
      expect(r.stderr.trimEnd()).toMatch(row.stderr);
      expect(r.stdout).toBe('');
    }
    row.check?.(r);
    // Nothing written or damaged: the existing --save target, the checkpoint read, no stray files.
    if (row.save) expect(Buffer.compare(readFileSync(sentinel), sentinelBytes())).toBe(0);
    expect(Buffer.compare(readFileSync(ckpt), ckptBefore)).toBe(0);
    expect(readdirSync(join(dir, 'sentinels')).filter((f) => f.startsWith(`row-${row.i}.`) && f !== `row-${row.i}.safetensors`)).toEqual(
      [],
    );
  });
});
