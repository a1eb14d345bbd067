/**
 * A per-kernel profile of training steps: every tfjs kernel a step runs, grouped by name, input
 * shapes and transposes, with its calls and time per step, slowest first. This is how the next
 * bottleneck is found (`npm run bench -- --profile`).
 *
 * It wraps tf.engine().runKernel with a clock. On cpu and wasm kernels run synchronously, so
 * the time around a call is the kernel's own; a kernel called from inside another (a custom
 * gradient's ops) is subtracted from its caller, so each millisecond is counted once. On webgpu
 * a call only queues work on the GPU, so there it counts kernels and says that it cannot time
 * them. What a step spends outside every kernel (the gradient tape, JavaScript) is the step's
 * wall time less the kernels' sum.
 */
import * as tf from '@tensorflow/tfjs';

/** One kind of kernel call: same kernel, same input shapes, same transposes. */
export interface KernelRow {
  kernel: string; // tfjs's kernel name, e.g. BatchMatMul
  shapes: string; // input shapes, "[1024,64]×[64,256]", or "60 tensors" past 4 inputs
  attrs: string; // what changes the kernel's path: "transposeA", "transposeB", or ""
  calls: number; // per step
  ms: number | null; // per step, exclusive of nested kernels; null where kernels are asynchronous (webgpu)
}

export interface KernelProfile {
  steps: number; // steps profiled (their mean is reported)
  msPerStep: number; // wall time per profiled step, the loss read back
  kernelMs: number | null; // the rows' ms added up; null on webgpu
  timed: boolean; // false on webgpu: counts only
  rows: KernelRow[]; // slowest first (on webgpu: most called first)
}

type RunKernel = (name: string, inputs: tf.NamedTensorMap, attrs?: tf.NamedAttrMap) => tf.Tensor | tf.Tensor[];

/** The attributes that pick a different implementation of the same kernel. */
function pathAttrs(attrs: tf.NamedAttrMap | undefined): string {
  if (!attrs) return '';
  return ['transposeA', 'transposeB'].filter((k) => attrs[k] === true).join(' ');
}

/**
 * Runs `step` (one training step that returns its loss) `steps` times under the profiler and
 * reads each loss back before the next. Leaves the engine as it found it, also on an error.
 */
export async function profileSteps(step: () => tf.Scalar, steps: number): Promise<KernelProfile> {
  const timed = tf.getBackend() !== 'webgpu';
  const engine = tf.engine() as unknown as { runKernel: RunKernel };
  const original = engine.runKernel;
  const rows = new Map<string, KernelRow>();
  let nested = 0; // ms spent in kernels called from inside the kernel now running
  engine.runKernel = function (this: unknown, name, inputs, attrs) {
    const t0 = performance.now();
    const outer = nested;
    nested = 0;
    try {
      return original.call(this, name, inputs, attrs);
    } finally {
      const total = performance.now() - t0;
      const own = total - nested;
      nested = outer + total;
      const all = Object.values(inputs ?? {}).map((t) => `[${(t as tf.Tensor | undefined)?.shape?.join(',') ?? ''}]`);
      const shapes = all.length > 4 ? `${all.length} tensors` : all.join('×'); // an optimizer's kernel takes every parameter
      const extra = pathAttrs(attrs);
      const key = `${name} ${shapes} ${extra}`;
      const row = rows.get(key) ?? { kernel: name, shapes, attrs: extra, calls: 0, ms: 0 };
      row.calls++;
      row.ms! += own;
      rows.set(key, row);
    }
  };
  const t0 = performance.now();
  try {
    for (let i = 0; i < steps; i++) {
      const loss = step();
      await loss.data();
      loss.dispose();
    }
  } finally {
    engine.runKernel = original;
  }
  const msPerStep = (performance.now() - t0) / steps;
  const perStep = [...rows.values()].map((r) => ({ ...r, calls: r.calls / steps, ms: timed ? r.ms! / steps : null }));
  perStep.sort((a, b) => (timed ? b.ms! - a.ms! : b.calls - a.calls));
  return { steps, msPerStep, kernelMs: timed ? perStep.reduce((a, r) => a + r.ms!, 0) : null, timed, rows: perStep };
}
