/**
 * Sampling speed with and without the KV cache, in ms per generated character, through
 * `generate` itself (forward passes, read-backs and sampling in TypeScript).
 *
 *   npx tsx tests/bench/kv-cache-timing.ts [--backends wasm,cpu,webgpu] [--ctx 64,256]
 *
 * Per model (2 layers, 4 heads, width 64, vocabulary 83 like Moby-Dick; random weights) and backend:
 * - window: no cache, at full context (a prompt of blockSize characters): every character is a
 *   [1, blockSize] forward pass (its cost does not depend on how full the window is);
 * - cached, filling: a 1-character prompt, then blockSize - 1 characters, each a [1, 1] step
 *   attending over the whole fixed-size cache (plus the one prefill of the prompt);
 * - cached, past the context: a prompt of blockSize - 1, then 2·blockSize characters (blockSize/2
 *   on the slow backends), so the cache fills and is filled again from its last 3/4 every
 *   blockSize/4 + 1 characters.
 * Each is the median of several runs after a warm-up of the same shapes (and the first model once
 * untimed before all of them), in wall-clock ms and in
 * ms of the process's CPU time (steadier when other work shares the machine); prints one JSON
 * line per row, then a table.
 */
import '@tensorflow/tfjs-backend-wasm';
import { parseArgs } from 'node:util';
import type { BackendName } from '../../src/core/config.ts';
import { CharTokenizer } from '../../src/core/tokenizer.ts';
import { installNodeWebGPU } from '../../src/cli/dawn.ts';
import { initBackend } from '../../workers/backend.ts';
import { GPT } from '../../workers/model.ts';
import { generate } from '../../workers/sample.ts';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,cpu' },
    ctx: { type: 'string', default: '64,256' },
  },
});
const backends = values.backends.split(',') as BackendName[];
const contexts = values.ctx.split(',').map(Number);

const vocab = Array.from({ length: 83 }, (_, i) => String.fromCodePoint(33 + i));
const tok = new CharTokenizer(vocab);
const promptOf = (n: number) => Array.from({ length: n }, (_, i) => vocab[(i * 7) % vocab.length]).join('');

interface Timing {
  wall: number; // ms per character, wall clock
  cpu: number; // ms per character of this process's CPU time (user + system): steadier on a busy machine
}

/** Per-character cost of one generate call. */
async function perChar(model: GPT, prompt: string, length: number, kvCache: boolean): Promise<Timing> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let n = 0;
  for await (const _ of generate(model, tok, prompt, { length, temperature: 1, seed: 1, kvCache })) n++;
  if (n !== length) throw new Error(`generated ${n} of ${length}`);
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / length, cpu: (c.user + c.system) / 1000 / length };
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Warm-up (kernels, buffer pool, the JIT), then the median of `reps` timed runs. */
async function timed(model: GPT, prompt: string, length: number, kvCache: boolean, reps: number): Promise<Timing> {
  await perChar(model, prompt, reps > 1 ? length : Math.min(length, 8), kvCache);
  const runs: Timing[] = [];
  for (let i = 0; i < reps; i++) runs.push(await perChar(model, prompt, length, kvCache));
  return { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)) };
}

const rows: { backend: string; adapter: string; ctx: number; window: Timing; filling: Timing; past: Timing }[] = [];
for (const backend of backends) {
  if (backend === 'webgpu') await installNodeWebGPU();
  const info = await initBackend(backend);
  // The first configuration in a process runs slow (JIT, heap growth): run it once untimed.
  for (const [i, T] of [contexts[0], ...contexts].entries()) {
    const model = new GPT({ vocabSize: vocab.length, blockSize: T, nLayer: 2, nHead: 4, nEmbd: 64, dropout: 0 }, 1);
    // The slow backends get fewer characters and runs: the per-character cost is flat, so fewer suffice.
    const { reps, most } = { wasm: { reps: 5, most: Infinity }, cpu: { reps: 3, most: 32 }, webgpu: { reps: 1, most: 16 } }[
      info.name as 'wasm' | 'cpu' | 'webgpu'
    ] ?? { reps: 1, most: 16 };
    const window = await timed(model, promptOf(T), Math.min(T, most), false, reps);
    const filling = await timed(model, promptOf(1), Math.min(T - 1, 2 * most), true, reps);
    const past = await timed(model, promptOf(T - 1), most === Infinity ? 2 * T : T / 2, true, reps);
    const row = { backend: info.name, adapter: info.adapter, ctx: T, window, filling, past };
    model.dispose();
    if (i === 0) continue;
    console.log(JSON.stringify(row));
    rows.push(row);
  }
}

const f = (t: Timing) => `${t.wall.toFixed(2)} (${t.cpu.toFixed(2)})`;
console.log('\nms per character, wall clock (CPU time of the process)');
console.log('| backend | ctx | no cache, full window | cache, filling | cache, past the context | speed-up past the context |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  const speedup = `${(r.window.wall / r.past.wall).toFixed(1)}× (${(r.window.cpu / r.past.cpu).toFixed(1)}×)`;
  console.log(`| ${r.backend} | ${r.ctx} | ${f(r.window)} | ${f(r.filling)} | ${f(r.past)} | ${speedup} |`);
}
