import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { COMMANDS } from '../../src/cli/flags.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-baseline-'));

/** Runs the CLI as users do; resolves with its exit code, stdout lines (parsed) and stderr. */
async function cli(...args: string[]) {
  try {
    const { stdout, stderr } = await run('node', ['--import', 'tsx', 'src/cli/main.ts', ...args]);
    const jsonl = stdout.startsWith('{');
    return {
      code: 0,
      stdout,
      lines: jsonl
        ? stdout
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l))
        : [],
      stderr,
    };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, lines: [], stderr: e.stderr };
  }
}

// 20 characters: the first 90% (18) train, the last 2 are val.
// Train "ab"×9 has the bigrams ab ×9 and ba ×8: N(a,b) = 9, N(a) = 9, N(b,a) = 8, N(b) = 8; V = 2.
// Val "aa" predicts its second character from its first: one prediction.
const hand = join(dir, 'hand.txt');
writeFileSync(hand, 'ab'.repeat(9) + 'aa');

describe('cli baseline', () => {
  test('--help lists baseline, and baseline its flags and the split it scores', async () => {
    expect((await cli('--help')).stdout).toContain('baseline');
    const help = await cli('baseline', '--help');
    expect(help.code).toBe(0);
    for (const f of Object.keys(COMMANDS.baseline.flags)) expect(help.stdout).toContain(`--${f}`);
    expect(help.stdout).toMatch(/first 90%/);
  });

  test('a Laplace bigram on moby-dick prints one baseline line on the 90/10 split train uses', async () => {
    const r = await cli('baseline', '--corpus', 'moby-dick');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.lines).toHaveLength(1);
    const line = r.lines[0];
    // 1,190,317 characters: floor(0.9 × 1,190,317) = 1,071,285 train, 119,032 val, of which all but the first are predicted.
    expect(line).toMatchObject({
      type: 'baseline',
      corpus: 'moby-dick',
      order: 2,
      smoothing: 'laplace',
      k: 1,
      vocabSize: 83,
      trainChars: 1_071_285,
      valChars: 119_032,
      predicted: 119_031,
    });
    expect(line.nats).toBeCloseTo(2.4655, 3);
    expect(line.bits).toBeCloseTo(line.nats / Math.LN2, 12);
    expect(Object.keys(line).sort()).toEqual(
      ['bits', 'corpus', 'k', 'nats', 'order', 'predicted', 'smoothing', 'trainChars', 'type', 'valChars', 'vocabSize'].sort(),
    );
  });

  test('on moby-dick each higher order scores lower, and a trigram predicts one character fewer', async () => {
    const [uni, bi, tri] = await Promise.all(['1', '2', '3'].map((n) => cli('baseline', '--corpus', 'moby-dick', '--order', n)));
    expect(uni.lines[0].nats).toBeGreaterThan(bi.lines[0].nats);
    expect(bi.lines[0].nats).toBeGreaterThan(tri.lines[0].nats);
    expect(uni.lines[0].predicted).toBe(119_031);
    expect(tri.lines[0].predicted).toBe(119_030);
  });

  test.each([
    // p(a | a) = (0 + 1) / (9 + 1·2) = 1/11
    [['--order', '2'], { smoothing: 'laplace', k: 1 }, Math.log(11)],
    // Laplace with --k 1 is the same model.
    [['--order', '2', '--k', '1'], { smoothing: 'laplace', k: 1 }, Math.log(11)],
    // p(a | a) = (0 + 0.5) / (9 + 0.5·2) = 1/20
    [['--order', '2', '--smoothing', 'addk', '--k', '0.5'], { smoothing: 'addk', k: 0.5 }, Math.log(20)],
    // add-k without --k is add-1: Laplace again.
    [['--order', '2', '--smoothing', 'addk'], { smoothing: 'addk', k: 1 }, Math.log(11)],
    // Unigram: N(a) = N(b) = 9, p(a) = (9 + 1) / (18 + 2) = 1/2; the first val character is not predicted.
    [['--order', '1'], { smoothing: 'laplace', k: 1 }, Math.LN2],
  ])('on a hand-made file %j gives the hand-computed cross-entropy', async (flags, expected, nats) => {
    const r = await cli('baseline', '--corpus', hand, ...flags);
    expect(r.code).toBe(0);
    expect(r.lines[0]).toMatchObject({ ...expected, corpus: hand, vocabSize: 2, trainChars: 18, valChars: 2, predicted: 1 });
    expect(r.lines[0].nats).toBeCloseTo(nats, 12);
    expect(r.lines[0].bits).toBeCloseTo(nats / Math.LN2, 12);
  });

  test.each([
    [['--order', '0'], /--order must be a whole number from 1 to 16, got 0/],
    [['--order', '2.5'], /--order must be a whole number from 1 to 16, got 2.5/],
    [['--order', 'two'], /--order must be a number/],
    [['--smoothing', 'kneser-ney'], /--smoothing must be laplace or addk, got "kneser-ney"/],
    [['--smoothing', 'addk', '--k', '0'], /--k must be > 0, got 0/],
    [['--smoothing', 'addk', '--k=-1'], /--k must be > 0, got -1/],
    [['--smoothing', 'addk', '--k', 'NaN'], /--k must be a number/],
    [['--k', '2'], /--k applies to --smoothing addk; laplace is k = 1/],
    [['--ctx', '8'], /ctx/],
    [['--corpus', '/nonexistent/file.txt'], /neither a bundled corpus .* nor a file/],
  ])('baseline %j fails with a clear message on stderr and a non-zero exit', async (flags, message) => {
    const r = await cli('baseline', ...flags);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  test('a corpus too short for the order is refused with the split it needs', async () => {
    const path = join(dir, 'short.txt');
    writeFileSync(path, 'abcab');
    const r = await cli('baseline', '--corpus', path, '--order', '3');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/5 characters: too short for a context of 2/);
  });
});
