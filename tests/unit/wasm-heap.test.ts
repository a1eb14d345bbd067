import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { adamwWasmKernel } from '../../workers/kernels/adamw-wasm.ts';
import { splitOuterKernel } from '../../workers/kernels/xnnpack.ts';

/**
 * A stand-in for tfjs-wasm's heap that grows (a new buffer, the old one detached, as
 * WebAssembly.Memory.grow does) at every allocation: a kernel that keeps a view of the heap
 * across an allocation reads a detached buffer and throws, as it did in a resumed run whose
 * first step grew the heap.
 */
function growingHeap() {
  let heap = new ArrayBuffer(0);
  const where = new Map<object, { offset: number; size: number }>();
  const grow = (bytes: number) => {
    const next = new ArrayBuffer(heap.byteLength + bytes);
    new Uint8Array(next).set(new Uint8Array(heap));
    structuredClone(heap, { transfer: [heap] }); // detaches every view of the old heap
    heap = next;
  };
  const backend = {
    makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo {
      const size = shape.reduce((a, b) => a * b, 1);
      const dataId = {};
      where.set(dataId, { offset: heap.byteLength, size });
      grow(size * 4);
      return { dataId, shape, dtype };
    },
    typedArrayFromHeap(t: tf.TensorInfo): Float32Array {
      const { offset, size } = where.get(t.dataId)!;
      return new Float32Array(heap, offset, size);
    },
  };
  const tensor = (values: number[], shape: number[]) => {
    const t = backend.makeOutput(shape, 'float32');
    backend.typedArrayFromHeap(t).set(values);
    return t;
  };
  return { backend, tensor };
}

test("splitOuter's kernel takes its view of the input after allocating its outputs", () => {
  const { backend, tensor } = growingHeap();
  const x = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
  const outs = splitOuterKernel({ inputs: { x }, backend, attrs: { shape: [2] } as unknown as tf.NamedAttrMap });
  expect(outs.map((o) => Array.from(backend.typedArrayFromHeap(o)))).toEqual([
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
});

test("the wasm AdamW kernel takes its views after each parameter's allocations", () => {
  const { backend, tensor } = growingHeap();
  const inputs = { p0: tensor([1, -1], [2]), m0: tensor([0, 0], [2]), v0: tensor([0, 0], [2]), g0: tensor([0.5, -0.5], [2]) };
  const hp = { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClip: 0, t: 1, decay: [false] };
  const [p] = adamwWasmKernel({ inputs, backend, attrs: hp as unknown as tf.NamedAttrMap });
  // The first Adam step moves each weight by lr against its gradient's sign.
  const after = Array.from(backend.typedArrayFromHeap(p));
  expect(after[0]).toBeCloseTo(0.9, 6);
  expect(after[1]).toBeCloseTo(-0.9, 6);
});
