import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { initBackend } from '/work/main/workers/backend.ts';
import { prepareRun, createRun } from '/work/main/workers/run.ts';
import { defaultTrainConfig } from '/work/main/src/core/config.ts';

const backend = process.argv[2] ?? 'wasm';
const cfg = process.argv[3] ?? 'tiny';
await initBackend(backend as 'wasm');
const text = readFileSync('/work/main/datasets/dist/moby-dick.txt', 'utf8');
const shape = cfg === 'tiny' ? { nLayer: 2, nHead: 4, nEmbd: 64, blockSize: 64, B: 16 } : { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 64, B: 12 };
const prepared = prepareRun(text, { nLayer: shape.nLayer, nHead: shape.nHead, nEmbd: shape.nEmbd, blockSize: shape.blockSize, dropout: 0 }, { ...defaultTrainConfig, batchSize: shape.B, maxSteps: 1000 });
const run = createRun(prepared);
const eng = tf.engine() as any;
const orig = eng.runKernel.bind(eng);
const stats = new Map<string, { calls: number; ms: number }>();
let depth = 0; let childMs = 0;
let on = false;
eng.runKernel = (name: string, inputs: any, attrs: any) => {
  if (!on) return orig(name, inputs, attrs);
  const t0 = performance.now();
  const saved = childMs; childMs = 0; depth++;
  try { return orig(name, inputs, attrs); } finally {
    depth--;
    const dt = performance.now() - t0;
    const excl = dt - childMs;
    childMs = saved + dt;
    const shapes = Object.values(inputs ?? {}).map((t: any) => t?.shape ? `[${t.shape}]` : '').join('x');
    const key = `${name} ${shapes}${attrs?.transposeA ? ' tA' : ''}${attrs?.transposeB ? ' tB' : ''}`;
    const s = stats.get(key) ?? { calls: 0, ms: 0 };
    s.calls++; s.ms += excl; stats.set(key, s);
  }
};
for (let i = 0; i < 3; i++) { const l = run.trainer.trainStep(); await l.data(); l.dispose(); }
for (let i = 0; i < 20; i++) { const l = run.trainer.trainStep(); await l.data(); l.dispose(); }
const N = Number(process.argv[4] ?? 5);
on = true;
const t0 = performance.now();
for (let i = 0; i < N; i++) { const l = run.trainer.trainStep(); await l.data(); l.dispose(); }
const total = (performance.now() - t0) / N;
on = false;
const rows = [...stats.entries()].map(([k, s]) => ({ k, calls: s.calls / N, ms: s.ms / N })).sort((a, b) => b.ms - a.ms);
const sum = rows.reduce((a, r) => a + r.ms, 0);
console.log(`${backend} ${cfg}: ${total.toFixed(1)} ms/step, kernels ${sum.toFixed(1)} ms`);
for (const r of rows.slice(0, 60)) console.log(`${r.ms.toFixed(2).padStart(8)} ms ${(100 * r.ms / total).toFixed(1).padStart(5)}%  ${String(r.calls).padStart(3)}×  ${r.k}`);
console.log('numTensors', tf.memory().numTensors);
