/**
 * `arith`: addition of whole numbers of up to k digits, one problem a line, `482+39=521`. With
 * `scratchpad=1` the same problems are written with the column sums before the result, right to
 * left, each with the carry it takes in, and the result after a semicolon:
 *   482+39=2+9=11,8+3+1=12,4+0+1=5;521
 * so the same problems exist with and without step-by-step reasoning (Nye et al. 2021, "Show Your
 * Work: Scratchpads for Intermediate Computation with Language Models"). A scratchpad line is
 * longer, so at equal tokens a model sees fewer problems with it.
 *
 * Problems are pairs (a, b) drawn uniformly from 0..10^k − 1 each; the held-out pairs are drawn
 * first and every training line is drawn from the pairs that are not held out, so no held-out
 * problem occurs in the training text. A held-out problem's prompt is `shots` solved training
 * problems, one a line, then `a+b=`.
 */
import { Rng } from './rng.ts';
import { checkWhole, shotsOf, type Problem } from './task-problem.ts';

export type ArithParams = {
  digits: number; // k: each operand has up to k digits, 1..6
  scratchpad: number; // 1: the column sums are written before the result
  lines: number; // training problems, one a line
  heldout: number; // held-out problems (at most a fifth of the 10^2k pairs)
  shots: number; // solved problems before each held-out one in its prompt
  seed: number;
};

export const defaultArithParams: ArithParams = { digits: 3, scratchpad: 0, lines: 100_000, heldout: 200, shots: 2, seed: 1 };
export const ARITH_KEYS = ['digits', 'scratchpad', 'lines', 'heldout', 'shots', 'seed'] as const;

/** The continuation after `a+b=`: the sum, or with a scratchpad the column sums and then the sum. */
export function arithAnswer(a: number, b: number, scratchpad: boolean): string {
  const sum = String(a + b);
  if (!scratchpad) return sum;
  const da = String(a).split('').reverse();
  const db = String(b).split('').reverse();
  const steps: string[] = [];
  let carry = 0;
  for (let i = 0; i < Math.max(da.length, db.length); i++) {
    const x = Number(da[i] ?? 0);
    const y = Number(db[i] ?? 0);
    const s = x + y + carry;
    steps.push(`${x}+${y}${carry ? `+${carry}` : ''}=${s}`);
    carry = s >= 10 ? 1 : 0;
  }
  return `${steps.join(',')};${sum}`;
}

export function arithTask(p: ArithParams): { text: string; problems: Problem[]; note: string } {
  const k = checkWhole('arith', 'digits', p.digits, 1, 6);
  const scratch = checkWhole('arith', 'scratchpad', p.scratchpad, 0, 1) === 1;
  const lines = checkWhole('arith', 'lines', p.lines, 1, 5_000_000);
  const space = 10 ** (2 * k); // pairs (a, b)
  // At most a fifth of the problems held out (fewer where the space is small), so training sees most of them.
  const heldout = Math.min(checkWhole('arith', 'heldout', p.heldout, 1, 100_000), Math.max(1, Math.floor(space / 5)));
  const shots = checkWhole('arith', 'shots', p.shots, 0, 16);
  const rng = new Rng(checkWhole('arith', 'seed', p.seed, 0, 0xffffffff));
  const n = 10 ** k;
  const held = new Set<number>(); // a·n + b
  while (held.size < heldout) held.add(rng.int(n) * n + rng.int(n));
  const line = (a: number, b: number) => `${a}+${b}=${arithAnswer(a, b, scratch)}`;
  const out: string[] = [];
  while (out.length < lines) {
    const a = rng.int(n);
    const b = rng.int(n);
    if (!held.has(a * n + b)) out.push(line(a, b));
  }
  const problems = [...held].map((key, i) => {
    const a = Math.floor(key / n);
    const b = key % n;
    // Shots: training lines, a different pair for each problem.
    const from = (i * shots) % Math.max(1, out.length - shots);
    return { prompt: `${shotsOf(out.slice(from), shots)}${a}+${b}=`, answer: arithAnswer(a, b, scratch) };
  });
  const note = scratch
    ? `addition of up to ${k}-digit numbers, with the column sums written before the result (a scratchpad)`
    : `addition of up to ${k}-digit numbers, the sum written at once`;
  return { text: `${out.join('\n')}\n`, problems, note };
}
