// The form's class uses runes; the svelte plugin compiles it for the test, and these types declare them for tsc.
/// <reference types="svelte" />
import { expect, test } from 'vitest';
import { minCorpusLength } from '../../src/core/batching.ts';
import { defaultModelConfig } from '../../src/core/config.ts';
import { ConfigForm, corpusIssues, formatSci, formatSI, formNumbers } from '../../src/lib/config-form.svelte.ts';
import { defaultSetup } from '../../src/lib/url-state.ts';

const mobyDick = { characters: 1_190_317, vocabSize: 83 };

test('the defaults are valid on the bundled corpus', () => {
  const form = new ConfigForm(mobyDick);
  expect(form.issues).toEqual([]);
  expect(form.valid).toBe(true);
  expect(form.train).toMatchObject({ warmupSteps: 200, minLr: 3e-4, sampling: 'random', seed: 1337 });
  expect(form.model).toEqual({ ...defaultModelConfig });
});

test('the form starts from a link setup, and ignores its backend and corpus', () => {
  const form = new ConfigForm(mobyDick, { ...defaultSetup, nLayer: 3, sampling: 'sequential', dropout: 0.2, backend: 'wasm' });
  const { backend: _, corpus: __, ...values } = defaultSetup;
  expect(Object.keys(form.values).sort()).toEqual(Object.keys(values).sort());
  expect(form.values).toEqual({ ...values, nLayer: 3, sampling: 'sequential', dropout: 0.2 });
  expect(form.initialBackend).toBe('wasm');
  expect(form.model.dropout).toBe(0.2);
  expect(form.train.sampling).toBe('sequential');
});

test('an edit is checked at once, beside its field, and blocks Train', () => {
  const form = new ConfigForm(mobyDick);
  form.values.nHead = 3;
  expect(form.issuesFor('nHead')).toEqual(['width (64) must be divisible by heads (3)']); // the form's labels, not the config's names
  expect(form.valid).toBe(false);
  form.values.nHead = 4;
  expect(form.valid).toBe(true);
  form.values.dropout = 1;
  expect(form.issuesFor('dropout')[0]).toMatch(/dropout must be in \[0, 1\)/);
  form.values.dropout = 0;
  form.values.seed = 1.5;
  expect(form.issuesFor('seed')[0]).toMatch(/whole number/);
});

test('an emptied number field (null from the input) is an issue, not NaN in the numbers', () => {
  const form = new ConfigForm(mobyDick);
  form.values.nEmbd = null as unknown as number;
  expect(form.valid).toBe(false);
  expect(form.issuesFor('nEmbd')[0]).toMatch(/whole number/);
  expect(form.numbers).toBeNull();
});

test('warm-up keeps its share of the run and the final learning rate never exceeds the peak', () => {
  const form = new ConfigForm(mobyDick);
  form.values.maxSteps = 10;
  form.values.learningRate = 5e-5;
  expect(form.train.warmupSteps).toBe(1);
  expect(form.train.minLr).toBe(5e-5);
  expect(form.valid).toBe(true);
});

test('a corpus too short for the context is a form issue that says how long it must be', () => {
  const need = minCorpusLength(64);
  const form = new ConfigForm({ characters: need - 1, vocabSize: 10 });
  expect(form.valid).toBe(false);
  expect(form.issuesFor('corpus')[0]).toContain(`at least ${need.toLocaleString('en')}`);
  form.values.blockSize = 16;
  expect(form.valid).toBe(true);
});

test('sequential sampling needs batch × ctx + 1 characters in the train split', () => {
  // 90% of 2000 is 1800 train characters: 16 × 64 + 1 = 1025 fit, 32 × 64 + 1 = 2049 do not.
  const small = { characters: 2000, vocabSize: 10 };
  expect(corpusIssues({ blockSize: 64, batchSize: 32, sampling: 'random' }, small.characters)).toEqual([]);
  expect(corpusIssues({ blockSize: 64, batchSize: 16, sampling: 'sequential' }, small.characters)).toEqual([]);
  const [issue] = corpusIssues({ blockSize: 64, batchSize: 32, sampling: 'sequential' }, small.characters);
  expect(issue.field).toBe('sampling');
  expect(issue.message).toContain('needs 2,049 characters; it has 1,800');

  const form = new ConfigForm(small);
  form.values.batchSize = 32;
  expect(form.valid).toBe(true);
  form.values.sampling = 'sequential';
  expect(form.issuesFor('sampling')).toHaveLength(1);
  expect(form.valid).toBe(false);
});

test('the corpus checks wait for a corpus and for valid sizes', () => {
  expect(corpusIssues({ blockSize: 64, batchSize: 16, sampling: 'sequential' }, 0)).toEqual([]);
  expect(corpusIssues({ blockSize: NaN, batchSize: 16, sampling: 'sequential' }, 10)).toEqual([]);
});

test('N, tokens and FLOPs per step of the default model, counted by hand', () => {
  const v = { ...defaultSetup };
  expect([v.nLayer, v.nEmbd, v.blockSize, v.batchSize]).toEqual([2, 64, 64, 16]); // what the numbers below are for
  const n = formNumbers(v, 83)!;
  // Per layer: ln_1 64 + c_attn 64·192 + c_proj 64·64 + ln_2 64 + c_fc 64·256 + c_proj 256·64 = 49,280;
  // two layers and ln_f: 98,624 (nanoGPT's non-embedding count); plus wte 83·64 and wpe 64·64: 108,032.
  expect(n.nonEmbedding).toBe(98_624);
  expect(n.params).toBe(108_032);
  expect(n.tokensPerStep).toBe(1024);
  // Kaplan: 6·N + 6·nLayer·ctx·nEmbd per token = 591,744 + 49,152 = 640,896; times 1,024 tokens.
  expect(n.flopsPerStep).toBe(656_277_504);
  expect(formNumbers(v, 0)!.params).toBeNull(); // the vocabulary is not known yet
  expect(formNumbers({ ...v, nHead: 3 }, 83)).toBeNull();
  expect(formNumbers({ ...v, batchSize: 0 }, 83)).toBeNull();
});

test('big numbers read as SI prefixes and scientific notation', () => {
  expect(formatSI(950)).toBe('950');
  expect(formatSI(1234, 'FLOP')).toBe('1.23 kFLOP');
  expect(formatSI(1_200_000, 'FLOP')).toBe('1.20 MFLOP');
  expect(formatSI(45_600_000_000, 'FLOP')).toBe('45.6 GFLOP');
  expect(formatSI(999_999, 'FLOP')).toBe('1.00 MFLOP');
  expect(formatSI(12, 'FLOP')).toBe('12 FLOP');
  expect(formatSI(NaN)).toBe('—');
  expect(formatSci(3.4e9)).toBe('3.4e9');
  expect(formatSci(1.23e-4)).toBe('1.2e-4');
});

test("a loaded run's settings replace the form's: the shape always, the training settings when it resumes", () => {
  const form = new ConfigForm(mobyDick, { ...defaultSetup, nLayer: 1, nEmbd: 32, batchSize: 8, maxSteps: 100 });
  const model = { ...defaultModelConfig, nLayer: 2, nHead: 2, nEmbd: 64, blockSize: 32, dropout: 0.1 };
  form.adopt(model, null); // a fine-tune: the checkpoint's shape, the form's training
  expect(form.values).toMatchObject({ nLayer: 2, nHead: 2, nEmbd: 64, blockSize: 32, dropout: 0.1, batchSize: 8, maxSteps: 100 });
  form.adopt(model, { ...form.train, batchSize: 24, maxSteps: 900, learningRate: 2e-3, seed: 7, sampling: 'sequential' });
  expect(form.values).toMatchObject({ batchSize: 24, maxSteps: 900, learningRate: 2e-3, seed: 7, sampling: 'sequential' });
  expect(form.numbers?.params).toBe(formNumbers(form.values, mobyDick.vocabSize)?.params);
});
