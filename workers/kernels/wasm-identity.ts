/**
 * tfjs's Identity kernel on wasm, as the cpu and webgpu backends have it: the output shares the
 * input's memory (a reference count more) instead of a copy. tfjs clones every tensor a gradient
 * keeps (each custom gradient's saved tensors, each kernel's saved inputs) through Identity, and
 * tfjs-wasm's copies them: 60 copies a step of the default model, 2 ms of its 36. Sharing is safe
 * as it is for Reshape, which tfjs-wasm already shares: no kernel writes into its inputs, every
 * output is a fresh allocation, and a variable's assign takes new memory.
 */
import * as tf from '@tensorflow/tfjs';

/** What this needs of tfjs-wasm's backend: its reference count per tensor's memory. */
interface WasmBackend {
  incRef(dataId: object): void;
}

function identityWasm({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: object }): tf.TensorInfo {
  const x = inputs.x!;
  if (x.dtype === 'string') throw new Error('Identity of a string tensor on wasm'); // the model has none
  (backend as WasmBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Replaces tfjs-wasm's copying Identity with the sharing one (once; before the first step). */
export function shareWasmIdentity() {
  const registered = tf.getKernel('Identity', 'wasm');
  if (registered?.kernelFunc === (identityWasm as unknown as tf.KernelFunc)) return;
  if (registered) tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: identityWasm as unknown as tf.KernelFunc });
}
