import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { readSafetensors } from '../../src/core/safetensors.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-ckpt-'));

async function cli(...args: string[]) {
  try {
    const { stdout, stderr } = await run('node', ['--import', 'tsx', 'src/cli/main.ts', ...args], { maxBuffer: 64 << 20 });
    return {
      code: 0,
      lines: stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      stderr,
    };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, lines: [], stderr: e.stderr };
  }
}

const micro = [
  '--layers',
  '1',
  '--heads',
  '2',
  '--embd',
  '16',
  '--ctx',
  '16',
  '--batch',
  '4',
  '--dropout',
  '0.1',
  '--backend',
  'cpu',
  '--eval-every',
  '10',
  '--eval-batches',
  '2',
];
/** Two checkpoint files hold the same run state: every tensor and every metadata field but the run's id (each run has its own). */
function expectSameRunState(a: string, b: string) {
  const [x, y] = [a, b].map((p) => readSafetensors(new Uint8Array(readFileSync(p))));
  const { run: runX, ...metaX } = x.metadata;
  const { run: runY, ...metaY } = y.metadata;
  expect([runX, runY].every((r) => typeof r === 'string')).toBe(true);
  expect(metaX).toEqual(metaY);
  expect([...x.tensors.keys()]).toEqual([...y.tensors.keys()]);
  for (const [name, t] of x.tensors) expect(t, name).toEqual(y.tensors.get(name));
}

const steps = <L extends { type: string }>(lines: L[]) => lines.filter((l) => l.type === 'step');

describe('train --save / --resume / --init-from', () => {
  test('a run saved at step 10 and resumed gives the same losses, step by step, and the same final weights', async () => {
    const [whole, half, rest] = [join(dir, 'whole.safetensors'), join(dir, 'half.safetensors'), join(dir, 'rest.safetensors')];
    const straight = await cli('train', ...micro, '--steps', '20', '--save', whole);
    const first = await cli('train', ...micro, '--steps', '10', '--save', half);
    const second = await cli('train', '--resume', half, '--steps', '20', '--backend', 'cpu', '--save', rest);
    expect([straight.code, first.code, second.code]).toEqual([0, 0, 0]);
    expect(second.lines[0]).toMatchObject({ type: 'start', step: 10 });
    expect([...steps(first.lines), ...steps(second.lines)]).toEqual(steps(straight.lines).map((s) => ({ ...s, ms: expect.any(Number) })));
    expect(second.lines.at(-1)).toMatchObject({ valLoss: straight.lines.at(-1).valLoss, steps: 20 });
    // Same weights, moments, data cursor and history: the files hold the same bytes but for the run's id.
    expectSameRunState(rest, whole);
  });

  test('resume refuses another corpus, changed settings, or a finished run, with the reason', async () => {
    const half = join(dir, 'half2.safetensors');
    expect((await cli('train', ...micro, '--steps', '4', '--save', half)).code).toBe(0);
    const other = await cli('train', '--resume', half, '--corpus', 'sotu', '--steps', '8', '--backend', 'cpu');
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/trained on moby-dick, another text than --corpus sotu/);
    const changed = await cli('train', '--resume', half, '--lr', '0.5');
    expect(changed.stderr).toMatch(/drop --lr/);
    const done = await cli('train', '--resume', half, '--backend', 'cpu');
    expect(done.stderr).toMatch(/already at step 4/);
  });

  test('init-from fine-tunes on a new corpus, growing the vocabulary for its new characters', async () => {
    const base = join(dir, 'base.safetensors');
    expect((await cli('train', ...micro, '--steps', '5', '--save', base)).code).toBe(0);
    const text = join(dir, 'new.txt');
    writeFileSync(text, 'Ünïcödé whales 🐳 and ships ⛵ sail the northern seas. '.repeat(80));
    const tuned = await cli(
      'train',
      '--init-from',
      base,
      '--corpus',
      text,
      '--backend',
      'cpu',
      '--steps',
      '60',
      '--lr',
      '1e-2',
      '--batch',
      '8',
      '--eval-every',
      '30',
      '--eval-batches',
      '4',
      '--warmup',
      '5',
    );
    expect(tuned.code).toBe(0);
    const baseVocab: string[] = JSON.parse(readSafetensors(new Uint8Array(readFileSync(base))).metadata.vocab);
    const union = new Set([...baseVocab, ...readFileSync(text, 'utf8')]);
    expect(union.size).toBeGreaterThan(baseVocab.length); // the new text brings characters Moby-Dick lacks
    expect(tuned.lines[0].vocabSize).toBe(union.size);
    const evals = tuned.lines.filter((l) => l.type === 'eval');
    expect(evals.at(-1).val).toBeLessThan(evals[0].val - 0.5);
    const refused = await cli('train', '--init-from', base, '--corpus', text, '--layers', '3');
    expect(refused.stderr).toMatch(/takes the model's shape from the checkpoint; drop --layers/);
  });

  test('--save-every N saves at every multiple of N and at the end, without changing the run', async () => {
    const [every, once] = [join(dir, 'every.safetensors'), join(dir, 'once.safetensors')];
    const periodic = await cli('train', ...micro, '--steps', '12', '--save-every', '5', '--save', every);
    const atEnd = await cli('train', ...micro, '--steps', '12', '--save-every', '0', '--save', once);
    expect([periodic.code, atEnd.code]).toEqual([0, 0]);
    // At 5 and 10, then as soon as the last step is in and again after the final evaluation.
    expect(periodic.lines.filter((l) => l.type === 'saved').map((l) => l.step)).toEqual([5, 10, 12, 12]);
    expect(atEnd.lines.filter((l) => l.type === 'saved').map((l) => l.step)).toEqual([12, 12]);
    // Pausing to save changes nothing: the same losses, and the same state at the end.
    expect(steps(periodic.lines)).toEqual(steps(atEnd.lines).map((s) => ({ ...s, ms: expect.any(Number) })));
    expectSameRunState(every, once);
  });

  test('a run killed after a periodic save leaves that checkpoint whole, and --resume continues it to the same losses', async () => {
    const path = join(dir, 'killed.safetensors');
    const child = spawn('node', [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'train',
      ...micro,
      '--steps',
      '120',
      '--log-every',
      '1',
      '--save-every',
      '50',
      '--save',
      path,
    ]);
    const printed: { type: string; step: number; loss: number }[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      const l = JSON.parse(line);
      printed.push(l);
      // A few steps past the first save, so that the run has steps no file holds; SIGKILL has no
      // handler and no cleanup, as a crash or the OOM killer.
      const first = printed.find((p) => p.type === 'saved');
      if (first && l.type === 'step' && l.step >= first.step + 3) child.kill('SIGKILL');
    });
    await new Promise((resolve) => child.on('close', resolve));
    expect(child.signalCode).toBe('SIGKILL');
    const { metadata } = readSafetensors(new Uint8Array(readFileSync(path)));
    const saved = Number(metadata.step);
    // Killed 3 steps past the save at 50, 47 steps before the next: the file holds step 50.
    expect(saved).toBe(50);
    expect(JSON.parse(metadata.history).losses).toHaveLength(saved); // one consistent step: history, weights and optimizer

    // SIGKILL left the run's --save lock behind; its process is gone, so the resumed run takes it over.
    expect(existsSync(`${path}.lock`)).toBe(true);
    const resumed = await cli('train', '--resume', path, '--backend', 'cpu', '--save', path);
    expect(resumed.code).toBe(0);
    expect(resumed.lines[0]).toMatchObject({ type: 'start', step: saved });
    const after = steps(resumed.lines);
    expect(after.map((s) => s.step)).toEqual(Array.from({ length: 120 - saved }, (_, i) => saved + 1 + i));
    // The steps the killed run got through after its last save come out the same from the file.
    const lost = steps(printed).filter((s) => s.step > saved);
    expect(lost.length).toBeGreaterThanOrEqual(3);
    expect(after.slice(0, lost.length).map((s) => s.loss)).toEqual(lost.map((s) => s.loss));
  });

  test("--save onto another run's checkpoint is refused and the file kept; --force replaces it; a resumed run saves over its own", async () => {
    const [mine, theirs] = [join(dir, 'mine.safetensors'), join(dir, 'theirs.safetensors')];
    expect((await cli('train', ...micro, '--steps', '4', '--seed', '1', '--save', theirs)).code).toBe(0);
    const before = readFileSync(theirs);
    const refused = await cli('train', ...micro, '--steps', '4', '--seed', '2', '--save', theirs);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `error: --save ${theirs} holds the checkpoint of another run (at step 4); saving would replace it: give another path, or add --force to replace it\n`,
    );
    expect(Buffer.compare(readFileSync(theirs), before)).toBe(0);
    expect(existsSync(`${theirs}.lock`)).toBe(false);
    // A copy of a run resumed onto its own earlier save: the same run (its id), so allowed.
    expect((await cli('train', ...micro, '--steps', '4', '--save', mine)).code).toBe(0);
    copyFileSync(mine, join(dir, 'mine-copy.safetensors'));
    expect(
      (await cli('train', '--resume', join(dir, 'mine-copy.safetensors'), '--steps', '6', '--backend', 'cpu', '--save', mine)).code,
    ).toBe(0);
    expect(readSafetensors(new Uint8Array(readFileSync(mine))).metadata.step).toBe('6');
    // --force: the other run's file is replaced by this one.
    expect((await cli('train', ...micro, '--steps', '3', '--seed', '2', '--save', theirs, '--force')).code).toBe(0);
    expect(readSafetensors(new Uint8Array(readFileSync(theirs))).metadata.step).toBe('3');
  });

  test('two runs on one --save: the second is refused while the first trains, and the lock ends with the first', async () => {
    const path = join(dir, 'shared.safetensors');
    const first = spawn('node', ['--import', 'tsx', 'src/cli/main.ts', 'train', ...micro, '--steps', '100000', '--save', path]);
    const ended = new Promise((resolve) => first.on('close', resolve));
    // Once it prints its first step it holds the lock.
    await new Promise<void>((resolve) =>
      createInterface({ input: first.stdout }).on('line', (l) => (l.includes('"step"') ? resolve() : undefined)),
    );
    try {
      const second = await cli('train', ...micro, '--steps', '4', '--save', path, '--force');
      expect(second.code).toBe(2);
      expect(second.stderr).toBe(
        `error: --save ${path} is being written by another run (process ${first.pid}); give another path, or wait until it ends\n`,
      );
    } finally {
      first.kill('SIGINT');
      await ended;
    }
    expect(first.exitCode).toBe(130);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  test('sample and score read the files train writes', async () => {
    const path = join(dir, 'short.safetensors');
    expect((await cli('train', ...micro, '--steps', '2', '--save', path)).code).toBe(0);
    const s = await cli('sample', '--checkpoint', path, '--prompt', 'The', '--length', '10', '--backend', 'cpu');
    expect(Array.from(s.lines[0].completion)).toHaveLength(10);
    const sc = await cli('score', '--checkpoint', path, '--text', 'The whale', '--backend', 'cpu');
    expect(sc.lines[0].surprisal).toHaveLength(8);
  });
});
