import { expect, test } from 'vitest';
import { defaultSetup, parseSetup, setupToSearch, type Setup } from '../../src/lib/url-state.ts';

const corpora = ['moby-dick', 'tiny'];

test('the defaults make an empty query string, and an empty one reads back as the defaults', () => {
  expect(setupToSearch(defaultSetup)).toBe('');
  expect(parseSetup('', corpora)).toEqual(defaultSetup);
});

test('a setup survives the round trip through the query string', () => {
  const setup: Setup = {
    nLayer: 4,
    nHead: 8,
    nEmbd: 128,
    blockSize: 32,
    dropout: 0.15,
    batchSize: 8,
    maxSteps: 2500,
    learningRate: 3e-4,
    seed: 0,
    sampling: 'sequential',
    backend: 'wasm',
    corpus: 'tiny',
  };
  const search = setupToSearch(setup);
  expect(parseSetup(search, corpora)).toEqual(setup);
  expect(parseSetup(search.slice(1), corpora)).toEqual(setup); // with or without the '?'
});

test('values equal to their default are left out, so a link names only what changed', () => {
  expect(setupToSearch({ ...defaultSetup, nLayer: 4, sampling: 'sequential' })).toBe('?layers=4&sampling=sequential');
  expect(setupToSearch({ ...defaultSetup, learningRate: 1e-7 })).toBe('?lr=1e-7');
});

test('keys the setup does not own are kept when it is written', () => {
  expect(setupToSearch({ ...defaultSetup, batchSize: 4 }, '?tab=loss&layers=9')).toBe('?tab=loss&batch=4');
});

test('a file corpus (null) is left out of the link', () => {
  expect(setupToSearch({ ...defaultSetup, corpus: null })).toBe('');
});

test('an emptied or impossible number field is left out rather than written as NaN', () => {
  const search = setupToSearch({ ...defaultSetup, nEmbd: NaN, blockSize: null as unknown as number, dropout: 1, seed: -1 });
  expect(search).toBe('');
});

test.each([
  ['layers=abc', 'nLayer'],
  ['layers=2.5', 'nLayer'],
  ['layers=0', 'nLayer'],
  ['layers=-3', 'nLayer'],
  ['layers=', 'nLayer'],
  ['layers=0x10', 'nLayer'],
  ['embd=1e3', 'nEmbd'], // a whole number, but not written as one
  ['ctx=99999999999999999999', 'blockSize'],
  ['lr=0', 'learningRate'],
  ['lr=-1e-3', 'learningRate'],
  ['lr=Infinity', 'learningRate'],
  ['lr=NaN', 'learningRate'],
  ['lr=1e999', 'learningRate'],
  ['dropout=1', 'dropout'],
  ['dropout=.5.', 'dropout'],
  ['seed=4294967296', 'seed'],
  ['sampling=shuffled', 'sampling'],
  ['backend=tpu', 'backend'],
  ['corpus=../../etc/passwd', 'corpus'],
  ['corpus=constructor', 'corpus'],
] as const)('the malformed %s falls back to the default %s', (search, key) => {
  const setup = parseSetup(`?${search}&batch=4`, corpora);
  expect(setup[key]).toBe(defaultSetup[key]);
  expect(setup.batchSize).toBe(4); // the well-formed key beside it still counts
});

test('unknown keys are ignored and a repeated key takes its first value', () => {
  const setup = parseSetup('?foo=1&nLayer=7&layers=3&layers=5', corpora);
  expect(setup).toEqual({ ...defaultSetup, nLayer: 3 });
});

test('well-formed values in decimal and exponent notation are read', () => {
  const setup = parseSetup('?lr=.002&dropout=0.1&steps=10&seed=4294967295&backend=cpu&corpus=moby-dick', corpora);
  expect(setup).toMatchObject({ learningRate: 0.002, dropout: 0.1, maxSteps: 10, seed: 4294967295, backend: 'cpu', corpus: 'moby-dick' });
  expect(parseSetup('?lr=3E-4', corpora).learningRate).toBe(3e-4);
  expect(parseSetup('?lr=%203e-4%20', corpora).learningRate).toBe(3e-4); // spaces around it are forgiven
});

test('no parsed number is ever NaN', () => {
  const junk = ['', '-', '.', 'e5', '1e', '١', '½', 'null', 'undefined', '[]', '{}', '%', '\u0000'];
  for (const j of junk) {
    const query = ['layers', 'heads', 'embd', 'ctx', 'dropout', 'batch', 'steps', 'lr', 'seed']
      .map((k) => `${k}=${encodeURIComponent(j)}`)
      .join('&');
    const setup = parseSetup(query, corpora);
    expect(setup, JSON.stringify(j)).toEqual(defaultSetup);
  }
});
