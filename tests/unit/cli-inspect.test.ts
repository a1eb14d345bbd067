/** The CLI's inspect and probe commands, and train --probe, run as users run them. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-inspect-'));
const checkpoint = join(dir, 'copy.safetensors');

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

let trained: Awaited<ReturnType<typeof cli>>;

beforeAll(async () => {
  // A 2-layer model on a short copy corpus, a probe after each evaluation.
  trained = await cli(
    ...['train', '--corpus', 'copy:alphabet=6,min=3,max=6,length=20000', '--backend', 'wasm'],
    ...['--layers', '2', '--heads', '2', '--embd', '16', '--ctx', '16', '--batch', '4', '--steps', '20', '--eval-every', '10'],
    ...['--eval-batches', '2', '--probe', '--save', checkpoint],
  );
});

describe('train --probe', () => {
  test('prints a probe line after each evaluation, with its step', () => {
    expect(trained.code, trained.stderr).toBe(0);
    const evals = trained.lines.filter((l) => l.type === 'eval').map((l) => l.step);
    const probes = trained.lines.filter((l) => l.type === 'probe');
    expect(evals).toEqual([0, 10, 20]);
    expect(probes.map((p) => p.step)).toEqual(evals);
    for (const p of probes) {
      expect(p).toMatchObject({ length: 8, trials: 8, seed: 0 }); // half the context
      expect(p.chance).toBeCloseTo(Math.log(6), 12); // the six letters; the newline is not drawn
      expect(p.score).toBeCloseTo(p.first - p.second, 12);
      expect(p.induction).toHaveLength(2);
      expect(p.induction[0]).toHaveLength(2);
    }
    expect(trained.lines.at(-1).type).toBe('summary');
  });
});

describe('inspect', () => {
  test("prints attention as [layer][head][query][key], rows summing to 1 and zero above the diagonal, and each character's surprisal", async () => {
    const r = await cli('inspect', '--checkpoint', checkpoint, '--text', 'abcabcab', '--backend', 'wasm');
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines).toHaveLength(1);
    const [line] = r.lines;
    expect(line).toMatchObject({ type: 'inspect', chars: [...'abcabcab'], nLayer: 2, nHead: 2 });
    expect(line.attention).toHaveLength(2);
    for (const layer of line.attention) {
      expect(layer).toHaveLength(2);
      for (const head of layer) {
        expect(head).toHaveLength(8);
        head.forEach((row: number[], q: number) => {
          expect(row).toHaveLength(8);
          expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
          row.forEach((w, k) => (k > q ? expect(w).toBe(0) : expect(w).toBeGreaterThan(0)));
        });
      }
    }
    expect(line.surprisal).toHaveLength(7);
    for (const s of line.surprisal) expect(s).toBeGreaterThan(0);
  });

  test('refuses a text longer than the context, a character the model never saw, and no text', async () => {
    const long = await cli('inspect', '--checkpoint', checkpoint, '--text', 'abcdefabcdefabcdefa', '--backend', 'wasm');
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/--text has 19 characters; the model's context is 16/);
    const foreign = await cli('inspect', '--checkpoint', checkpoint, '--text', 'abz', '--backend', 'wasm');
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/--text: .*"z"/);
    const none = await cli('inspect', '--checkpoint', checkpoint, '--backend', 'wasm');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--text is required/);
  });
});

describe('probe', () => {
  test('prints first-copy and second-copy loss; the same seed gives the same line', async () => {
    const a = await cli('probe', '--checkpoint', checkpoint, '--length', '5', '--trials', '3', '--seed', '4', '--backend', 'wasm');
    expect(a.code, a.stderr).toBe(0);
    expect(a.lines[0]).toMatchObject({ type: 'probe', length: 5, trials: 3, seed: 4 });
    expect(a.lines[0].first).toBeGreaterThan(0);
    expect(a.lines[0].second).toBeGreaterThan(0);
    const b = await cli('probe', '--checkpoint', checkpoint, '--length', '5', '--trials', '3', '--seed', '4', '--backend', 'wasm');
    expect(b.lines).toEqual(a.lines);
  });

  test('a copy longer than half the context is refused, naming the flag', async () => {
    const r = await cli('probe', '--checkpoint', checkpoint, '--length', '9', '--backend', 'wasm');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--length must be a whole number from 2 to 8, got 9/);
  });
});
