import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { chooseProblems, generateTask, isTaskSpec, parseTaskSpec, type TaskSet } from '../../src/core/tasks.ts';

/** The last line of a prompt: the problem itself, after its shots. */
const lastLine = (prompt: string) => prompt.slice(prompt.lastIndexOf('\n') + 1);
const trainingLines = (set: TaskSet) => new Set(set.text.split('\n'));

describe('arith', () => {
  test('every held-out answer is the sum, checked with BigInt; none of the problems is in the training text', () => {
    const set = generateTask('arith:digits=4,lines=20000,heldout=300,seed=7');
    expect(set.spec).toBe('arith:digits=4,scratchpad=0,sub=0,lines=20000,heldout=300,shots=2,seed=7');
    expect(set.problems).toHaveLength(300);
    const lines = trainingLines(set);
    const asked = new Set<string>();
    for (const p of set.problems) {
      const m = /^(\d{1,4})\+(\d{1,4})=$/.exec(lastLine(p.prompt))!;
      expect(m).not.toBeNull();
      expect(p.answer).toBe((BigInt(m[1]) + BigInt(m[2])).toString());
      expect(lines.has(lastLine(p.prompt) + p.answer)).toBe(false);
      asked.add(lastLine(p.prompt));
      // Two solved training lines before it, each a line of the text.
      const shots = p.prompt.split('\n').slice(0, -1);
      expect(shots).toHaveLength(2);
      for (const s of shots) expect(lines.has(s)).toBe(true);
    }
    // No training line asks a held-out problem, whatever its answer.
    for (const l of lines) expect(asked.has(l.slice(0, l.indexOf('=') + 1))).toBe(false);
    // Training lines are right too.
    for (const l of [...lines].slice(0, 2000).filter(Boolean)) {
      const [q, a] = l.split('=');
      const [x, y] = q.split('+').map(BigInt);
      expect(BigInt(a)).toBe(x + y);
    }
  });

  test('the scratchpad writes each column sum with its carry, then the sum; the same seed holds out the same problems', () => {
    const direct = generateTask('arith:digits=3,lines=2000,heldout=50,seed=3');
    const pad = generateTask('arith:digits=3,scratchpad=1,lines=2000,heldout=50,seed=3');
    expect(pad.problems.map((p) => lastLine(p.prompt))).toEqual(direct.problems.map((p) => lastLine(p.prompt)));
    for (const p of pad.problems) {
      const [a, b] = lastLine(p.prompt).slice(0, -1).split('+');
      const [steps, result] = p.answer.split(';');
      expect(result).toBe(String(Number(a) + Number(b)));
      // Recomputed column by column, right to left.
      const cols = steps.split(',');
      expect(cols).toHaveLength(Math.max(a.length, b.length));
      let carry = 0;
      cols.forEach((col, i) => {
        const x = Number(a[a.length - 1 - i] ?? 0);
        const y = Number(b[b.length - 1 - i] ?? 0);
        expect(col).toBe(carry ? `${x}+${y}+1=${x + y + 1}` : `${x}+${y}=${x + y}`);
        carry = x + y + carry >= 10 ? 1 : 0;
      });
    }
    expect(generateTask('arith:digits=3,lines=2000,heldout=50,seed=3').text).toBe(direct.text); // seeded
    expect(pad.text.length).toBeGreaterThan(2 * direct.text.length); // a scratchpad line is longer: fewer problems per token
  });

  test('sub=1: half the problems subtract the smaller number, each answer checked with BigInt, none held out in the text', () => {
    const set = generateTask('arith:digits=4,sub=1,lines=20000,heldout=300,seed=7');
    const lines = trainingLines(set);
    const ops = { '+': 0, '-': 0 };
    for (const p of set.problems) {
      const m = /^(\d{1,4})([+-])(\d{1,4})=$/.exec(lastLine(p.prompt))!;
      expect(m).not.toBeNull();
      const [a, b] = [BigInt(m[1]), BigInt(m[3])];
      ops[m[2] as '+' | '-']++;
      if (m[2] === '-') expect(a >= b).toBe(true);
      expect(p.answer).toBe((m[2] === '+' ? a + b : a - b).toString());
      expect(lines.has(lastLine(p.prompt) + p.answer)).toBe(false);
    }
    expect(ops['-']).toBeGreaterThan(100);
    expect(ops['+']).toBeGreaterThan(100);
    for (const l of [...lines].slice(0, 2000).filter(Boolean)) {
      const [, x, op, y, r] = /^(\d+)([+-])(\d+)=(\d+)$/.exec(l)!;
      expect(BigInt(r)).toBe(op === '+' ? BigInt(x) + BigInt(y) : BigInt(x) - BigInt(y));
    }
  });

  test("a subtraction's scratchpad writes each column's difference, the ten it borrows and the one it repays, then the result", () => {
    const pad = generateTask('arith:digits=3,sub=1,scratchpad=1,lines=2000,heldout=60,seed=3');
    let borrowed = 0;
    for (const p of pad.problems.filter((q) => lastLine(q.prompt).includes('-'))) {
      const [a, b] = lastLine(p.prompt).slice(0, -1).split('-');
      const [steps, result] = p.answer.split(';');
      expect(result).toBe(String(Number(a) - Number(b)));
      // Recomputed column by column, right to left: the digit (plus 10 where it borrows), minus b's, minus the borrow repaid.
      let repay = 0;
      steps.split(',').forEach((col, i) => {
        const x = Number(a[a.length - 1 - i] ?? 0);
        const y = Number(b[b.length - 1 - i] ?? 0);
        const borrow = x - y - repay < 0 ? 1 : 0;
        borrowed += borrow;
        const top = x + 10 * borrow;
        expect(col).toBe(`${top}-${y}${repay ? '-1' : ''}=${top - y - repay}`);
        expect(top - y - repay).toBe(Number(result[result.length - 1 - i] ?? 0));
        repay = borrow;
      });
    }
    expect(borrowed).toBeGreaterThan(10);
  });

  test('sub=0 (and a spec without it) draws the text and problems it drew before subtraction existed', () => {
    // The SHA-256 of the text and problems of two specs, from the generator before it had sub=: saved runs name these specs.
    const digest = (spec: string) => {
      const set = generateTask(spec);
      return createHash('sha256')
        .update(set.text + JSON.stringify(set.problems))
        .digest('hex')
        .slice(0, 16);
    };
    expect(digest('arith:digits=3,lines=2000,heldout=50,seed=3')).toBe('2dbe8f49c20601a4');
    expect(digest('arith:digits=2,scratchpad=1,sub=0,lines=3000,seed=5')).toBe('4870c4b2e51cc6ce');
  });

  test('one-digit addition holds out at most a fifth of its 100 problems', () => {
    expect(generateTask('arith:digits=1,lines=500').problems).toHaveLength(20);
  });
});

describe('instruct', () => {
  const reference: Record<string, (w: string) => string> = {
    reverse: (w) => {
      let r = '';
      for (let i = w.length - 1; i >= 0; i--) r += w[i];
      return r;
    },
    sort: (w) =>
      Array.from(w, (c) => c.charCodeAt(0))
        .sort((a, b) => a - b)
        .map((c) => String.fromCharCode(c))
        .join(''),
    upper: (w) => w.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 32)),
    repeat: (w) => `${w}${w}`,
    first: (w) => w.charAt(0),
    last: (w) => w.charAt(w.length - 1),
  };

  test('every held-out answer is the instruction applied to its word; the unseen instruction is never shown in its format', () => {
    const set = generateTask('instruct:lines=30000,heldout=20,seed=5');
    const lines = trainingLines(set);
    expect(set.problems).toHaveLength(6 * 20);
    for (const p of set.problems) {
      const m = /^(\w+): ([a-h]+) => $/.exec(lastLine(p.prompt))!;
      expect(m).not.toBeNull();
      expect(m[1]).toBe(p.kind);
      expect(p.answer).toBe(reference[m[1]](m[2]));
      // Neither format of this instruction and word is in the training text.
      expect(lines.has(`${m[1]}: ${m[2]} => ${p.answer}`)).toBe(false);
      expect(lines.has(`${m[1]}(${m[2]})=${p.answer}`)).toBe(false);
      // Its shots show the format with other instructions, never its own.
      for (const s of p.prompt.split('\n').slice(0, -1)) expect(s.startsWith(`${m[1]}:`)).toBe(false);
    }
    const upperLines = [...lines].filter((l) => l.startsWith('upper'));
    expect(upperLines.length).toBeGreaterThan(1000);
    expect(upperLines.every((l) => l.startsWith('upper('))).toBe(true); // only the function format
    expect([...lines].some((l) => l.startsWith('reverse: '))).toBe(true);
    expect([...lines].some((l) => l.startsWith('reverse('))).toBe(true);
  });
});

describe('memo', () => {
  test("a held-out problem's answer is the named word, never the saying's own ending, and never a training line", () => {
    const set = generateTask('memo:lines=20000,heldout=60,seed=2');
    const lines = trainingLines(set);
    const sayings = [...lines].filter((l) => l.startsWith('say: ')).map((l) => l.slice(5).split(' '));
    expect(new Set(sayings.map((s) => s.join(' '))).size).toBe(20);
    for (const p of set.problems) {
      const m = /^end with (\w+): (.+) $/.exec(lastLine(p.prompt))!;
      expect(p.answer).toBe(m[1]);
      const prefix = m[2].split(' ');
      const saying = sayings.find((s) => s.slice(0, -1).join(' ') === prefix.join(' '))!;
      expect(saying).toBeDefined(); // it starts as a saying does
      expect(saying.at(-1)).not.toBe(p.answer); // and asks for another ending
      expect(p.trap).toBe(saying.at(-1)); // the memorised ending is its trap
      expect(lines.has(`${lastLine(p.prompt)}${p.answer}`)).toBe(false);
    }
  });
});

describe('specs', () => {
  test('a task is named like a synthetic corpus; a bad key or value is refused by name', () => {
    expect(isTaskSpec('arith')).toBe(true);
    expect(isTaskSpec('arith:digits=2')).toBe(true);
    expect(isTaskSpec('arith.txt')).toBe(false);
    expect(parseTaskSpec('memo').params).toMatchObject({ sayings: 20, words: 4 });
    expect(() => parseTaskSpec('chess')).toThrow(/unknown task "chess"/);
    expect(() => parseTaskSpec('arith:digit=2')).toThrow(/unknown key "digit"/);
    expect(() => parseTaskSpec('arith:digits=two')).toThrow(/digits must be a whole number/);
    expect(() => parseTaskSpec('arith:digits=2,digits=3')).toThrow(/given twice/);
    expect(() => generateTask('arith:digits=9')).toThrow(/arith digits must be a whole number from 1 to 6, got 9/);
    expect(() => generateTask('instruct:unseen=shout')).toThrow(/unseen must be one of/);
    expect(() => generateTask('instruct:alphabet=2,min=1,max=1')).toThrow(/too few to hold out/);
  });

  test('a chosen subset of problems is seeded: the same n and seed give the same problems', () => {
    const { problems } = generateTask('arith:digits=2,lines=100');
    const a = chooseProblems(problems, 10, 4);
    expect(a).toHaveLength(10);
    expect(chooseProblems(problems, 10, 4)).toEqual(a);
    expect(chooseProblems(problems, 10, 5)).not.toEqual(a);
    expect(chooseProblems(problems, 10_000, 4)).toHaveLength(problems.length);
  });
});
