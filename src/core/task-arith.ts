/**
 * `arith`: addition of whole numbers of up to k digits, one problem a line, `482+39=521`; with
 * `sub=1` half the problems are subtractions of the smaller number from the larger, `482-39=443`.
 * With `scratchpad=1` the same problems are written with the column sums (or differences) before
 * the result, right to left, each with the carry it takes in (or the borrow it repays, and the ten
 * it borrows written into its digit), and the result after a semicolon:
 *   482+39=2+9=11,8+3+1=12,4+0+1=5;521
 *   482-39=12-9=3,8-3-1=4,4-0=4;443
 * so the same problems exist with and without step-by-step reasoning (Nye et al. 2021, "Show Your
 * Work: Scratchpads for Intermediate Computation with Language Models"). A scratchpad line is
 * longer, so at equal tokens a model sees fewer problems with it.
 *
 * Problems are pairs (a, b) drawn uniformly from 0..10^k − 1 each (and, with sub=1, an operation,
 * a subtraction's pair ordered so that a ≥ b); the held-out problems are drawn first and every
 * training line is drawn from the problems that are not held out, so no held-out problem occurs
 * in the training text. A held-out problem's prompt is `shots` solved training problems, one a
 * line, then `a+b=` (or `a-b=`).
 */
import { Rng } from './rng.ts';
import { checkWhole, shotsOf, type Problem } from './task-problem.ts';

export type ArithParams = {
  digits: number; // k: each operand has up to k digits, 1..6
  scratchpad: number; // 1: the column sums are written before the result
  sub: number; // 1: half the problems are subtractions a − b with a ≥ b
  lines: number; // training problems, one a line
  heldout: number; // held-out problems (at most a fifth of the 10^2k pairs)
  shots: number; // solved problems before each held-out one in its prompt
  seed: number;
};

export const defaultArithParams: ArithParams = { digits: 3, scratchpad: 0, sub: 0, lines: 100_000, heldout: 200, shots: 2, seed: 1 };
export const ARITH_KEYS = ['digits', 'scratchpad', 'sub', 'lines', 'heldout', 'shots', 'seed'] as const;

/** An operation of a problem: addition, or subtraction of b from a ≥ b. */
export type ArithOp = '+' | '-';

/**
 * The continuation after `a+b=` (or `a-b=`): the result, or with a scratchpad the column sums (or
 * differences) right to left and then the result.
 */
export function arithAnswer(a: number, b: number, scratchpad: boolean, op: ArithOp = '+'): string {
  const result = String(op === '+' ? a + b : a - b);
  if (!scratchpad) return result;
  const da = String(a).split('').reverse();
  const db = String(b).split('').reverse();
  const steps: string[] = [];
  let carry = 0; // the carry into this column, or the borrow it repays
  for (let i = 0; i < Math.max(da.length, db.length); i++) {
    const x = Number(da[i] ?? 0);
    const y = Number(db[i] ?? 0);
    if (op === '+') {
      const s = x + y + carry;
      steps.push(`${x}+${y}${carry ? `+${carry}` : ''}=${s}`);
      carry = s >= 10 ? 1 : 0;
    } else {
      const borrow = x - y - carry < 0 ? 1 : 0; // this column borrows ten from the next
      const top = x + 10 * borrow;
      steps.push(`${top}-${y}${carry ? `-${carry}` : ''}=${top - y - carry}`);
      carry = borrow;
    }
  }
  return `${steps.join(',')};${result}`;
}

export function arithTask(p: ArithParams): { text: string; problems: Problem[]; note: string } {
  const k = checkWhole('arith', 'digits', p.digits, 1, 6);
  const scratch = checkWhole('arith', 'scratchpad', p.scratchpad, 0, 1) === 1;
  const lines = checkWhole('arith', 'lines', p.lines, 1, 5_000_000);
  const space = 10 ** (2 * k); // pairs (a, b)
  // At most a fifth of the problems held out (fewer where the space is small), so training sees most of them.
  const heldout = Math.min(checkWhole('arith', 'heldout', p.heldout, 1, 100_000), Math.max(1, Math.floor(space / 5)));
  const shots = checkWhole('arith', 'shots', p.shots, 0, 16);
  const sub = checkWhole('arith', 'sub', p.sub, 0, 1) === 1;
  const rng = new Rng(checkWhole('arith', 'seed', p.seed, 0, 0xffffffff));
  const n = 10 ** k;
  // A problem drawn: its operation (only with sub=1, so that sub=0 draws what it always drew) and pair.
  const draw = (): [ArithOp, number, number] => {
    const op: ArithOp = sub && rng.int(2) === 1 ? '-' : '+';
    const a = rng.int(n);
    const b = rng.int(n);
    return op === '-' && a < b ? [op, b, a] : [op, a, b];
  };
  const keyOf = (op: ArithOp, a: number, b: number) => (op === '-' ? n * n : 0) + a * n + b;
  const held = new Map<number, [ArithOp, number, number]>();
  while (held.size < heldout) {
    const problem = draw();
    held.set(keyOf(...problem), problem);
  }
  const line = (op: ArithOp, a: number, b: number) => `${a}${op}${b}=${arithAnswer(a, b, scratch, op)}`;
  const out: string[] = [];
  while (out.length < lines) {
    const problem = draw();
    if (!held.has(keyOf(...problem))) out.push(line(...problem));
  }
  const problems = [...held.values()].map(([op, a, b], i) => {
    // Shots: training lines, a different pair for each problem.
    const from = (i * shots) % Math.max(1, out.length - shots);
    return { prompt: `${shotsOf(out.slice(from), shots)}${a}${op}${b}=`, answer: arithAnswer(a, b, scratch, op) };
  });
  const what = sub ? `addition and subtraction of up to ${k}-digit numbers` : `addition of up to ${k}-digit numbers`;
  const note = scratch
    ? `${what}, with the column ${sub ? 'sums and differences' : 'sums'} written before the result (a scratchpad)`
    : `${what}, the result written at once`;
  return { text: `${out.join('\n')}\n`, problems, note };
}
