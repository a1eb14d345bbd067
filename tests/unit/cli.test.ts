import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { COMMANDS } from '../../src/cli/flags.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-cli-'));

/** Runs the CLI as users do; resolves with its exit code, stdout lines (parsed) and stderr. */
async function cli(...args: string[]) {
  return cliIn(process.env, ...args);
}

async function cliIn(env: NodeJS.ProcessEnv, ...args: string[]) {
  try {
    const { stdout, stderr } = await run('node', ['--import', 'tsx', 'src/cli/main.ts', ...args], { maxBuffer: 64 << 20, env });
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

const tiny = ['--layers', '1', '--heads', '2', '--embd', '16', '--ctx', '16', '--batch', '4', '--backend', 'wasm'];

describe('cli', () => {
  test("'auto' keeps the Vulkan drivers' warnings off stderr and never trains on software WebGPU", async () => {
    const { VK_ICD_FILENAMES: _, VK_DRIVER_FILES: __, ...env } = process.env; // the machine's own drivers, as a user has them
    const r = await cliIn(env, 'train', ...tiny.slice(0, -2), '--steps', '1', '--eval-every', '0');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const start = r.lines.find((l) => l.type === 'start');
    expect(['webgpu', 'wasm']).toContain(start.backend); // webgpu only where a GPU gives an adapter
    if (start.backend === 'webgpu') expect(start.adapter).not.toMatch(/swiftshader/i);
  });

  test('--help lists the commands, and each command its flags', async () => {
    const top = await cli('--help');
    expect(top.code).toBe(0);
    for (const c of Object.keys(COMMANDS)) expect(top.stdout).toContain(c);
    const train = await cli('train', '--help');
    for (const f of Object.keys(COMMANDS.train.flags)) expect(train.stdout).toContain(`--${f}`);
  });

  test('batches shows sequential rows continuing and random rows deterministic under a seed', async () => {
    const seq = await cli('batches', '--sampling', 'sequential', '--batch', '4', '--ctx', '32', '--steps', '5', '--seed', '3');
    expect(seq.code).toBe(0);
    expect(seq.lines).toHaveLength(5);
    for (let t = 1; t < 5; t++) {
      expect(seq.lines[t]).toMatchObject({ type: 'batch', step: t + 1 });
      seq.lines[t].starts.forEach((s: number, r: number) => expect(s).toBe(seq.lines[t - 1].starts[r] + 32));
    }
    const a = await cli('batches', '--sampling', 'random', '--batch', '4', '--ctx', '32', '--steps', '3', '--seed', '3');
    const b = await cli('batches', '--sampling', 'random', '--batch', '4', '--ctx', '32', '--steps', '3', '--seed', '3');
    expect(a.lines).toEqual(b.lines);
    expect(a.lines[1].starts[0]).not.toBe(a.lines[0].starts[0] + 32);
  });

  test('train streams step and eval lines, ends with a summary, and saves a checkpoint that sample and score read', async () => {
    const ckpt = join(dir, 'model.safetensors');
    const t = await cli('train', ...tiny, '--steps', '12', '--eval-every', '6', '--eval-batches', '2', '--save', ckpt);
    expect(t.stderr).not.toMatch(/error/);
    expect(t.code).toBe(0);
    const steps = t.lines.filter((l) => l.type === 'step');
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const s of steps) for (const k of ['loss', 'lr', 'ms']) expect(Number.isFinite(s[k])).toBe(true);
    expect(t.lines.filter((l) => l.type === 'eval').map((e) => e.step)).toEqual([0, 6, 12]);
    const summary = t.lines.at(-1);
    expect(summary).toMatchObject({ type: 'summary', backend: 'wasm', steps: 12 });
    for (const k of ['params', 'nonEmbeddingParams', 'trainLoss', 'valLoss', 'tokensPerSec']) expect(summary[k]).toBeGreaterThan(0);

    const s = await cli(
      'sample',
      '--checkpoint',
      ckpt,
      '--prompt',
      'Call me',
      '--length',
      '25',
      '--temperature',
      '0.7',
      '--seed',
      '1',
      '--backend',
      'wasm',
    );
    expect(s.code).toBe(0);
    expect(Array.from(s.lines[0].completion)).toHaveLength(25);
    const again = await cli(
      'sample',
      '--checkpoint',
      ckpt,
      '--prompt',
      'Call me',
      '--length',
      '25',
      '--temperature',
      '0.7',
      '--seed',
      '1',
      '--backend',
      'wasm',
    );
    expect(again.lines[0].completion).toBe(s.lines[0].completion);

    const sc = await cli('score', '--checkpoint', ckpt, '--text', 'Call me Ishmael.', '--backend', 'wasm');
    expect(sc.code).toBe(0);
    const r = sc.lines[0];
    expect(r.surprisal).toHaveLength(15);
    expect(r.logProb).toBeLessThan(0);
    expect(r.bitsPerChar).toBeCloseTo(-r.logProb / 15 / Math.LN2, 6);
    expect(r.perplexity).toBeCloseTo(Math.exp(-r.logProb / 15), 6);

    const bad = await cli('score', '--checkpoint', ckpt, '--text', 'Call me 🐳', '--backend', 'wasm');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/"🐳" \(U\+1F433\)/);
  });

  test.each([
    [['train', '--heads', '3'], /^error: --heads 3: --embd \(64\) must be divisible by --heads \(3\)$/m],
    [['train', '--lr', 'fast'], /--lr must be a number/],
    [['train', '--sampling', 'shuffled'], /--sampling must be random or sequential/],
    [['train', '--frobnicate', '1'], /frobnicate/],
    [['train', '--corpus', '/nonexistent/file.txt'], /neither a bundled corpus .* nor a file/],
    [['sample'], /--checkpoint is required/],
    [['fly'], /unknown command "fly"/],
  ])('%j fails with a clear message on stderr and a non-zero exit', async (args, message) => {
    const r = await cli(...args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  test.each([
    ['empty.txt', new Uint8Array(0), /--corpus .*empty.txt: the file is empty/],
    ['short.txt', new TextEncoder().encode('too short'), /9 characters: too short for a context of 16/],
    ['binary.bin', Uint8Array.from([1, 2, 0, 0, 5, 6, 7, 8]), /binary/],
    ['latin1.txt', Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x21]), /not valid UTF-8/],
  ])('a corpus file %s is refused with a specific message', async (name, bytes, message) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    const r = await cli('train', ...tiny, '--corpus', path, '--steps', '2');
    expect(r.code).toBe(2); // a bad --corpus, named
    expect(r.stderr).toMatch(`error: --corpus ${path}: `);
    expect(r.stderr).toMatch(message);
  });

  test('trains on a user file with emoji and CJK text', async () => {
    const path = join(dir, 'mixed.txt');
    writeFileSync(path, '春眠不覺曉，處處聞啼鳥。🌸 spring sleep, no dawn; birds sing everywhere 🐦\n'.repeat(40));
    const r = await cli('train', ...tiny, '--corpus', path, '--steps', '3', '--eval-every', '0', '--eval-batches', '1');
    expect(r.code).toBe(0);
    expect(r.lines[0]).toMatchObject({
      type: 'start',
      vocabSize: new Set('春眠不覺曉，處處聞啼鳥。🌸 spring sleep, no dawn; birds sing everywhere 🐦\n').size,
    });
  });
});
