/**
 * The CLI ends when told to: long synchronous work (a fit over thousands of points) and an
 * endless stream (batches into a reader that has stopped reading) end at once on SIGTERM
 * or SIGINT (milliseconds; the tests allow 5 s on a loaded machine), and the stream's memory stays bounded while its reader is slow.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'tabgpt-signals-'));

const start = (...args: string[]) => spawn('node', ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

/** Resolves with the time from now to the process's exit. */
function exitTime(child: ChildProcess): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => child.on('exit', () => resolve(performance.now() - t0)));
}

/** Resident memory of a process, in MB (Linux). */
const rssMB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

test('batches into a reader that stopped reading: memory stays bounded, and SIGTERM ends it at once', { timeout: 60_000 }, async () => {
  const child = start('batches', '--steps', '1000000000', '--corpus', 'moby-dick');
  // Nothing reads its stdout: the pipe fills, and the stream must wait rather than pile lines up.
  await new Promise((r) => setTimeout(r, 4_000)); // queued, its lines would be hundreds of MB by now
  expect(rssMB(child.pid!)).toBeLessThan(400);
  const ended = exitTime(child);
  child.kill('SIGTERM');
  expect(await ended).toBeLessThan(5_000); // at once (milliseconds); the bound only tells "ends" from "ends when the work is done"
  expect(child.signalCode ?? child.exitCode).toBeTruthy();
});

test('fit over thousands of points ends at once on SIGINT, mid-fit', { timeout: 60_000 }, async () => {
  const rows = ['N,D,loss'];
  let x = 1;
  const next = () => (x = (x * 1103515245 + 12345) >>> 0) % 1000;
  for (let i = 0; i < 20_000; i++) {
    const [N, D] = [1e4 * 100 ** (next() / 1000), 1e6 * 100 ** (next() / 1000)];
    rows.push(`${Math.round(N)},${Math.round(D)},${(1.7 + 400 / N ** 0.35 + 2000 / D ** 0.3).toFixed(5)}`);
  }
  const path = join(dir, 'many.csv');
  writeFileSync(path, rows.join('\n'));
  const child = start('fit', '--points', path);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += String(d)));
  await new Promise((r) => setTimeout(r, 2_000)); // well into the fit (about 100 s on a 2-core machine)
  const ended = exitTime(child);
  child.kill('SIGINT');
  expect(await ended).toBeLessThan(5_000); // at once (milliseconds); the bound only tells "ends" from "ends when the work is done"
  expect(out).toBe(''); // it was still fitting: nothing half-printed
});
