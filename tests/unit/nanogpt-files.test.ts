/**
 * The pieces of the nanoGPT export, each read back by the program that reads it for real: the zip
 * by Python's zipfile, the pickles by Python's pickle, the checkpoint container checked for what
 * PyTorch's weights_only unpickler accepts, and the learning-rate schedule against tabgpt's own.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { defaultTrainConfig, type TrainConfig } from '../../src/core/config.ts';
import { configFile, defaultExportName, metaPickle, nanoGptLr, planExport, type RunToExport } from '../../src/core/nanogpt.ts';
import { dict, float, pickle, tuple } from '../../src/core/pickle.ts';
import { TorchFile } from '../../src/core/torch-file.ts';
import { crc32, zip } from '../../src/core/zip.ts';
import { GPT } from '../../workers/model.ts';
import { Trainer } from '../../workers/train.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-nanogpt-files-'));
const PYTHON = '/usr/bin/python3';

/** Runs a Python snippet with `path` as sys.argv[1] and parses what it prints as JSON. */
async function py<T>(code: string, path: string): Promise<T> {
  const { stdout } = await run(PYTHON, ['-c', code, path], { maxBuffer: 16 << 20 });
  return JSON.parse(stdout) as T;
}

describe('zip', () => {
  test('crc32 is the zip checksum', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926); // the standard check value
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  test("Python's zipfile reads every entry back, checksums verified; aligned entries start on 64-byte boundaries", async () => {
    const big = new Uint8Array(100_003).map((_, i) => (i * 7919) % 251);
    const entries = [
      { path: 'data/x/train.bin', bytes: big },
      { path: 'data/x/empty', bytes: new Uint8Array(0) },
      { path: 'config/train_x.py', bytes: new TextEncoder().encode("dataset = 'x'\n") },
      { path: 'ünïcode/名前.txt', bytes: new TextEncoder().encode('é') },
    ];
    for (const align of [1, 64]) {
      const path = join(dir, `a${align}.zip`);
      writeFileSync(path, zip(entries, align));
      const got = await py<{ bad: string | null; files: [string, string][]; offsets: number[] }>(
        `
import hashlib, json, struct, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
raw = open(sys.argv[1], 'rb').read()
offsets = []
for i in z.infolist():
    n, e = struct.unpack('<HH', raw[i.header_offset + 26:i.header_offset + 30])
    offsets.append(i.header_offset + 30 + n + e)
print(json.dumps(dict(bad=z.testzip(), files=[[i.filename, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()], offsets=offsets)))`,
        path,
      );
      expect(got.bad).toBeNull();
      expect(got.files).toEqual(entries.map((e) => [e.path, createHash('sha256').update(e.bytes).digest('hex')]));
      if (align === 64) for (const o of got.offsets) expect(o % 64).toBe(0);
    }
  });

  test('paths that would leave the folder are refused', () => {
    for (const path of ['/etc/passwd', '../x', 'a/../../x', 'a\\b', ''])
      expect(() => zip([{ path, bytes: new Uint8Array(1) }])).toThrow(/not a relative path/);
    expect(() =>
      zip([
        { path: 'a', bytes: new Uint8Array(1) },
        { path: 'a', bytes: new Uint8Array(1) },
      ]),
    ).toThrow(/twice/);
  });
});

describe('pickle', () => {
  test("Python's pickle reads back the same values and types", async () => {
    const path = join(dir, 'values.pkl');
    writeFileSync(
      path,
      pickle({
        ints: [0, 1, 255, 256, 65535, 65536, -1, -129, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 40, -(2 ** 40), 2 ** 53 - 1],
        floats: [0.003, 1e-7, -2.5, float(1), float(0)],
        text: ['', 'é😀\n\'"', 'x'.repeat(300)],
        misc: [true, false, null, tuple(), tuple(1), tuple(0.9, 0.99), tuple(1, 2, 3, 4, 5)],
        keys: dict([
          [0, 'a'],
          [-7, 'b'],
          ['c', 2],
        ]),
        long: Array.from({ length: 2500 }, (_, i) => i),
      }),
    );
    const got = await py<{ same: boolean; repr: string }>(
      `
import json, pickle, sys
v = pickle.load(open(sys.argv[1], 'rb'))
want = {'ints': [0, 1, 255, 256, 65535, 65536, -1, -129, 2**31 - 1, 2**31, -2**31, -2**31 - 1, 2**40, -2**40, 2**53 - 1],
        'floats': [0.003, 1e-7, -2.5, 1.0, 0.0], 'text': ['', 'é😀\\n\\'"', 'x' * 300],
        'misc': [True, False, None, (), (1,), (0.9, 0.99), (1, 2, 3, 4, 5)], 'keys': {0: 'a', -7: 'b', 'c': 2}, 'long': list(range(2500))}
types = lambda x: [type(y).__name__ for y in x]
same = v == want and types(v['floats']) == ['float'] * 5 and types(v['ints']) == ['int'] * 15 and list(v) == list(want)
print(json.dumps(dict(same=same, repr=repr(v)[:2000])))`,
      path,
    );
    expect(got.same, got.repr).toBe(true);
  });

  test("meta.pkl holds vocab_size, stoi and itos as nanoGPT's prepare.py writes them", async () => {
    const vocab = ['\n', ' ', 'a', 'é', '😀'];
    const path = join(dir, 'meta.pkl');
    writeFileSync(path, metaPickle(vocab));
    const got = await py<{ vocab_size: number; itos: string[]; stoi: [string, number][] }>(
      `
import json, pickle, sys
m = pickle.load(open(sys.argv[1], 'rb'))
assert sorted(m) == ['itos', 'stoi', 'vocab_size']
print(json.dumps(dict(vocab_size=m['vocab_size'], itos=[m['itos'][i] for i in range(m['vocab_size'])], stoi=sorted(m['stoi'].items(), key=lambda kv: kv[1]))))`,
      path,
    );
    expect(got).toEqual({ vocab_size: 5, itos: vocab, stoi: vocab.map((ch, i) => [ch, i]) });
  });
});

describe('torch.save format', () => {
  test("uses only the opcodes and globals PyTorch's weights_only unpickler allows, and tensors that share data share a storage", async () => {
    const f = new TorchFile();
    const w = new Float32Array([1, 2, 3, 4, 5, 6]);
    const path = join(dir, 'ckpt.pt');
    writeFileSync(path, f.save({ a: f.tensor(w, [2, 3]), b: f.tensor(w, [3, 2]), s: f.tensor(Float32Array.of(7), []), x: float(0.5) }));
    const got = await py<{ ops: string[]; globals: string[]; names: string[] }>(
      `
import json, pickletools, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
ops = list(pickletools.genops(z.read('archive/data.pkl')))
print(json.dumps(dict(ops=sorted({o.name for o, a, p in ops}), globals=sorted({a for o, a, p in ops if o.name == 'GLOBAL'}), names=z.namelist())))`,
      path,
    );
    // The opcodes torch/_weights_only_unpickler.py handles (PyTorch 2.x), and the globals it allows for tensors.
    const allowed = 'PROTO STOP MARK GLOBAL REDUCE BINPERSID BININT BININT1 BININT2 LONG1 BINFLOAT BINUNICODE NONE NEWTRUE NEWFALSE'.split(
      ' ',
    );
    allowed.push(...'EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3 EMPTY_LIST APPENDS EMPTY_DICT SETITEMS'.split(' '));
    expect(got.ops.filter((op) => !allowed.includes(op))).toEqual([]);
    expect(got.globals).toEqual(['collections OrderedDict', 'torch FloatStorage', 'torch._utils _rebuild_tensor_v2']);
    expect(got.names).toEqual(['archive/data.pkl', 'archive/byteorder', 'archive/data/0', 'archive/data/1', 'archive/version']);
  });
});

/** A run to plan exports of: only its settings and evaluations matter here. */
function runOf(train: Partial<TrainConfig>, step: number): RunToExport {
  return {
    model: { vocabSize: 65, blockSize: 64, nLayer: 2, nHead: 4, nEmbd: 64, dropout: 0 },
    train: { ...defaultTrainConfig, ...train },
    vocab: Array.from({ length: 65 }, (_, i) => String.fromCodePoint(32 + i)),
    step,
    tensors: new Map(),
    corpus: { name: 'moby-dick', sha256: '0'.repeat(64) },
    evals: [
      { step: 100, train: 2.6, val: 2.7 },
      { step: 200, train: 2.4, val: 2.5 },
    ],
  };
}

describe('the exported settings', () => {
  test("nanoGPT's get_lr with the exported settings is tabgpt's learning rate at every step, warm-up as long as the run included", () => {
    const model = new GPT({ vocabSize: 4, blockSize: 4, nLayer: 1, nHead: 1, nEmbd: 4, dropout: 0 }, 0);
    const data = { train: new Int32Array(64), val: new Int32Array(16) };
    for (const [warmupSteps, maxSteps, steps] of [
      [200, 2000, undefined],
      [0, 50, undefined],
      [30, 30, undefined],
      [40, 30, undefined],
      [10, 100, 300],
    ] as const) {
      const config = { ...defaultTrainConfig, batchSize: 2, warmupSteps, maxSteps, learningRate: 3e-3, minLr: 3e-4 };
      const trainer = new Trainer(model, data, { ...config, maxSteps: steps ?? maxSteps }); // train --resume --steps
      const plan = planExport(runOf(config, 0), { name: 'x', gpus: 1, torch: 2, maxSteps: steps });
      const lr = (it: number) =>
        nanoGptLr(it, { learning_rate: 3e-3, min_lr: 3e-4, warmup_iters: warmupSteps, lr_decay_iters: plan.lrDecayIters });
      for (let it = 0; it < plan.maxIters; it++) expect(lr(it)).toBeCloseTo(trainer.getLr(it), 15);
      expect(Number.isFinite(lr(plan.maxIters))).toBe(true); // train.py's extra update at max_iters divides by nothing
      trainer.dispose();
    }
    model.dispose();
  });

  test('--gpus splits the batch and keeps it whole; evaluations cover as many sequences; the best val loss carries over', () => {
    const plan = planExport(runOf({ batchSize: 16, evalBatches: 8, evalEvery: 100 }, 200), { name: 'moby-dick', gpus: 8, torch: 2 });
    expect(plan).toMatchObject({ gpus: 8, batchSize: 2, gradientAccumulationSteps: 8, evalIters: 64, evalInterval: 100, bestValLoss: 2.5 });
    expect(plan.valLoss).toBe(2.5);
    const text = configFile(runOf({ batchSize: 16 }, 200), plan);
    expect(text).toContain('torchrun --standalone --nproc_per_node=8 train.py config/train_moby-dick.py');
    expect(text).toMatch(/^gradient_accumulation_steps = 8 /m);
    expect(text).toMatch(/^learning_rate = 0\.003 /m);
    expect(text).toMatch(/^dropout = 0\.0$/m);
    expect(text).toMatch(/^init_from = 'resume' /m);
    expect(() => planExport(runOf({ batchSize: 12 }, 0), { name: 'x', gpus: 5, torch: 2 })).toThrow(/use 1, 2, 3, 4, 6 or 12/);
    expect(() => planExport(runOf({}, 300), { name: 'x', gpus: 1, torch: 2, maxSteps: 200 })).toThrow(/at step 300/);
    // The app's emptied GPUs field.
    expect(() => planExport(runOf({}, 0), { name: 'x', gpus: null as unknown as number, torch: 2 })).toThrow(
      /^the number of GPUs is empty: enter a whole number from 1 to 4096$/,
    );
  });

  test('the default name comes from the corpus', () => {
    expect(defaultExportName('moby-dick')).toBe('moby-dick');
    expect(defaultExportName('/home/me/My Notes.txt')).toBe('My-Notes');
    expect(defaultExportName('markov:order=2,seed=1')).toBe('markov-order-2-seed-1');
    expect(defaultExportName('...')).toBe('tabgpt');
  });
});
