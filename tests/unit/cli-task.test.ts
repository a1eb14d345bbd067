import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { cli } from './cli-run.ts';

const TASK = 'arith:digits=1,lines=4000';
const micro = ['--layers', '1', '--heads', '2', '--embd', '16', '--ctx', '16', '--batch', '8', '--backend', 'cpu'];

test('train --task prints a task line after each evaluation, once each; eval scores the saved checkpoint the same way', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabgpt-task-'));
  const save = join(dir, 'arith.safetensors');
  const r = await cli(
    'train',
    '--corpus',
    TASK,
    '--task',
    TASK,
    '--task-n',
    '10',
    ...micro,
    '--steps',
    '40',
    '--eval-every',
    '20',
    '--save',
    save,
  );
  expect(r.code, r.stderr).toBe(0);
  const tasks = r.lines.filter((l) => l.type === 'task');
  expect(tasks.map((l) => l.step)).toEqual([0, 20, 40]); // the untrained model's once, then each evaluation's
  for (const t of tasks) {
    expect(t).toMatchObject({ task: 'arith:digits=1,scratchpad=0,sub=0,lines=4000,heldout=200,shots=2,seed=1', n: 10 });
    expect(t.exactMatch).toBeGreaterThanOrEqual(0);
    expect(t.answerNats).toBeGreaterThan(0);
  }
  // Each task line right after its eval line.
  const kinds = r.lines.map((l) => `${l.type} ${l.step ?? ''}`);
  expect(kinds.indexOf('task 20')).toBe(kinds.indexOf('eval 20') + 1);

  const e = await cli('eval', '--checkpoint', save, '--task', TASK, '--n', '10', '--seed', '0', '--items', '--backend', 'cpu');
  expect(e.code, e.stderr).toBe(0);
  const [line] = e.lines;
  expect(line).toMatchObject({ type: 'task', n: 10 });
  // The same problems and the same weights as the run's last task line.
  expect(line.exactMatch).toBe(tasks.at(-1)!.exactMatch);
  expect(line.answerNats).toBeCloseTo(tasks.at(-1)!.answerNats as number, 10);
  const items = line.items as { prompt: string; answer: string; output: string; correct: boolean; answerNats: number }[];
  expect(items).toHaveLength(10);
  for (const it of items) {
    expect(it.correct).toBe(it.output === it.answer);
    expect(it.prompt.endsWith('=')).toBe(true);
  }
  expect(line.exactMatch).toBe(items.filter((i) => i.correct).length / 10);
}, 180_000);

test('a bad --task is refused before anything trains, naming what is wrong', async () => {
  const bad = await cli('train', '--corpus', TASK, '--task', 'arith:digits=0', ...micro, '--steps', '2');
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--task arith:digits=0: arith digits must be a whole number from 1 to 6/);
  expect(bad.lines).toEqual([]);
  const unknown = await cli('eval', '--task', 'poetry', '--checkpoint', 'x');
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/--task "poetry" is not a task: the tasks are arith, instruct, memo/);
  // A model whose vocabulary cannot write the task's problems: told which characters, and what to train on.
  const other = await cli('train', '--corpus', 'markov', '--task', TASK, ...micro, '--steps', '2');
  expect(other.code).toBe(2);
  expect(other.stderr).toMatch(/its problems use characters the model's vocabulary lacks \("\d"/);
  expect(other.lines).toEqual([]); // refused before the backend started
}, 60_000);

test('sweep --task scores the task at every point, the same in parallel jobs as in one', async () => {
  const args = [
    'sweep',
    '--corpus',
    TASK,
    '--task',
    TASK,
    '--task-n',
    '8',
    '--sizes',
    '1x16,1x32',
    '--tokens',
    '6000',
    '--ctx',
    '16',
    '--batch',
    '8',
    '--points',
    '2',
    '--backend',
    'cpu',
  ];
  const [one, two] = await Promise.all([cli(...args, '--jobs', '1'), cli(...args, '--jobs', '2')]);
  expect(one.code, one.stderr).toBe(0);
  const points = one.lines.filter((l) => l.type === 'point');
  expect(points).toHaveLength(4);
  for (const p of points) {
    expect(p.task).toMatchObject({ n: 8 });
    expect(p.task.answerNats).toBeGreaterThan(0);
    for (const k of ['exactMatch', 'charAccuracy'] as const) expect(p.task[k]).toBeGreaterThanOrEqual(0);
  }
  expect(two.lines.filter((l) => l.type === 'point')).toEqual(points);
}, 180_000);
