/**
 * Task families: synthetic corpora whose lines are problems with one right answer, so an ability
 * can be measured as a task beside the loss (exact match, per-character accuracy, the answer's
 * log-probability: workers/task-eval.ts). Each family generates, from a seed, a training text and
 * a set of held-out problems that never occur in it, each with its answer known:
 * - `arith` (task-arith.ts): k-digit addition, directly or with a scratchpad of the column sums;
 * - `instruct` (task-instruct.ts): string instructions on unseen inputs, one of them never shown
 *   in the format it is asked in;
 * - `memo` (task-memo.ts): a memo trap, where the corpus's most likely ending is the wrong answer
 *   (an inverse-scaling candidate: McKenzie et al. 2023, "Inverse Scaling: When Bigger Isn't Better").
 *
 * A task is named by a spec, as markov and copy corpora are: `arith:digits=3,scratchpad=1,seed=2`
 * (or just `arith` for the defaults), which the CLI's --corpus and --task and the app accept. The
 * same spec gives the same text and the same held-out problems, so training on a task's text and
 * evaluating its problems never meet.
 */
import { Rng } from './rng.ts';
import type { Problem } from './task-problem.ts';

export type { Problem };
import { arithTask, ARITH_KEYS, defaultArithParams } from './task-arith.ts';
import { defaultInstructParams, instructTask, INSTRUCT_KEYS } from './task-instruct.ts';
import { defaultMemoParams, memoTask, MEMO_KEYS } from './task-memo.ts';

/** Held-out problems the app scores a run or a sweep point on: a few hundred greedy characters, under a second on wasm. */
export const APP_TASK_PROBLEMS = 50;

/** A task's training text and its held-out problems. */
export interface TaskSet {
  name: TaskName;
  spec: string; // every key written: the same spec gives the same set
  text: string; // training text: problems one a line, none of the held-out ones
  problems: Problem[]; // held-out, in a fixed order
  note: string; // what the task measures, in a sentence
}

export const TASK_NAMES = ['arith', 'instruct', 'memo'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** True for a task's name alone or with its keys ('arith', 'arith:digits=2'): not a file path such as 'arith.txt'. */
export function isTaskSpec(s: string): boolean {
  return TASK_NAMES.some((n) => s === n || s.startsWith(`${n}:`));
}

type Params = Record<string, number | string>;

const FAMILIES: Record<TaskName, { defaults: Params; keys: readonly string[]; make: (p: Params) => Omit<TaskSet, 'spec' | 'name'> }> = {
  arith: { defaults: defaultArithParams, keys: ARITH_KEYS, make: (p) => arithTask(p as unknown as typeof defaultArithParams) },
  instruct: {
    defaults: defaultInstructParams,
    keys: INSTRUCT_KEYS,
    make: (p) => instructTask(p as unknown as typeof defaultInstructParams),
  },
  memo: { defaults: defaultMemoParams, keys: MEMO_KEYS, make: (p) => memoTask(p as unknown as typeof defaultMemoParams) },
};

/** 'name' or 'name:key=value,…' → the family and its parameters, defaults for keys left out; a bad key or value is an Error naming it. */
export function parseTaskSpec(spec: string): { name: TaskName; params: Params } {
  const colon = spec.indexOf(':');
  const name = (colon < 0 ? spec : spec.slice(0, colon)) as TaskName;
  if (!TASK_NAMES.includes(name)) throw new Error(`unknown task ${JSON.stringify(name)}: the tasks are ${TASK_NAMES.join(', ')}`);
  const family = FAMILIES[name];
  const params: Params = { ...family.defaults };
  if (colon < 0) return { name, params };
  const seen = new Set<string>();
  for (const pair of spec.slice(colon + 1).split(',')) {
    const eq = pair.indexOf('=');
    if (eq < 0) throw new Error(`${name} spec: expected key=value, got ${JSON.stringify(pair)} (keys: ${family.keys.join(', ')})`);
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (!family.keys.includes(key)) throw new Error(`${name} spec: unknown key ${JSON.stringify(key)} (keys: ${family.keys.join(', ')})`);
    if (seen.has(key)) throw new Error(`${name} spec: ${key} is given twice`);
    seen.add(key);
    if (typeof family.defaults[key] === 'number') {
      if (!/^\d+$/.test(value)) throw new Error(`${name} spec: ${key} must be a whole number, got ${JSON.stringify(value)}`);
      params[key] = Number(value);
    } else params[key] = value;
  }
  return { name, params };
}

/** The task a spec names: its training text and held-out problems. Throws on a bad spec, naming what is wrong. */
export function generateTask(spec: string): TaskSet {
  const { name, params } = parseTaskSpec(spec);
  const family = FAMILIES[name];
  const set = family.make(params);
  return { ...set, name, spec: `${name}:${family.keys.map((k) => `${k}=${params[k]}`).join(',')}` };
}

/** The characters of `problems` a vocabulary lacks, in order of first use. */
export function unknownCharacters(vocab: readonly string[], problems: readonly Problem[]): string[] {
  const known = new Set(vocab);
  const missing = new Set<string>();
  for (const p of problems) for (const c of p.prompt + p.answer) if (!known.has(c)) missing.add(c);
  return [...missing];
}

/** Those characters as an error names them (`"+", "7"`), or null when the vocabulary has them all. */
export function unknownCharactersList(vocab: readonly string[], problems: readonly Problem[]): string | null {
  const missing = unknownCharacters(vocab, problems);
  return missing.length ? missing.map((c) => JSON.stringify(c)).join(', ') : null;
}

/** `n` of the problems, chosen by a seeded shuffle (the same n and seed give the same ones, in the same order); all of them when n is larger. */
export function chooseProblems(problems: readonly Problem[], n: number, seed: number): Problem[] {
  const order = problems.map((_, i) => i);
  const rng = new Rng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, Math.min(n, problems.length)).map((i) => problems[i]);
}
