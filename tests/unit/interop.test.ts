/**
 * The nanoGPT interop claim: a checkpoint from `npm run cli -- train` loads into a PyTorch GPT with
 * nanoGPT's names and layouts (tests/interop/pytorch_score.py, torch alone), which scores a text to
 * the same per-character surprisal as `npm run cli -- score`, on cpu and on wasm (whose products run
 * as XNNPACK formulations of their own). Needs PyTorch: .ci/run installs Debian's python3-torch.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, test } from 'vitest';
import { findTorchPython, NO_TORCH } from '../bench/torch.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-interop-'));
const checkpoint = join(dir, 'model.safetensors'); // trained 400 steps: its surprisal runs from 0.2 to 5.4 nats
// Longer than the context (32): the window slides, as both sides must agree on.
const TEXT = 'Call me Ishmael. Some years ago, never mind how long precisely, having little money';

const cli = async (...args: string[]) =>
  JSON.parse(
    (await run('node', ['--import', 'tsx', 'src/cli/main.ts', ...args], { maxBuffer: 16 << 20 })).stdout.trim().split('\n').at(-1)!,
  );

beforeAll(async () => {
  await cli(
    'train',
    '--layers',
    '2',
    '--heads',
    '4',
    '--embd',
    '32',
    '--ctx',
    '32',
    '--batch',
    '8',
    '--steps',
    '400',
    '--lr',
    '3e-3',
    '--backend',
    'wasm',
    '--eval-every',
    '0',
    '--save',
    checkpoint,
  );
});

test.each(['cpu', 'wasm'])('PyTorch scores a tabgpt checkpoint as `score --backend %s` does, character by character', async (backend) => {
  const python = findTorchPython();
  if (!python) throw new Error(NO_TORCH);
  const ours: number[] = (await cli('score', '--checkpoint', checkpoint, '--text', TEXT, '--backend', backend)).surprisal;
  const { stdout } = await run(python, ['tests/interop/pytorch_score.py', checkpoint, TEXT], {
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
  });
  const theirs: number[] = JSON.parse(stdout);
  expect(ours).toHaveLength([...TEXT].length - 1);
  expect(theirs).toHaveLength(ours.length);
  expect(Math.max(...ours)).toBeGreaterThan(1); // a trained model's surprisal, not zeros
  // float32 on both sides: two ulps (one ulp at 4 to 8 nats is 9.5e-7; measured: one). Trained 400
  // steps, the model is far enough from its init that an activation off by 5e-4 (GELU's tanh
  // approximation for the exact erf) moves a character's surprisal by 3e-4: 300 ulps.
  for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i] - theirs[i])).toBeLessThan(2e-6);
});
