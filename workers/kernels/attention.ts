/**
 * Fused causal self-attention: y = softmax(q·kᵀ/√hs + causal mask)·v for every head, straight
 * from the fused QKV projection, as one kernel forward and one backward: a WebGPU dispatch each
 * on webgpu (attention-wgsl.ts), a call into the SIMD module on wasm (assembly/attention.ts,
 * which computes only the causal half of each product); on other backends (or with `fused`
 * false) the plain tfjs ops model.ts runs.
 *
 * Interface: qkv [B*T, 3C] (the output of x·c_attn: query, key, value side by side, head h at
 * columns h·hs…) → y [B*T, C] (heads side by side, ready for c_proj). Taking the fused matrix
 * and giving back the 2-D layout removes, besides the attention itself, the split, the four
 * transposes and the scale that the 4-D [B, nh, T, hs] layout needs, and their gradients: the
 * kernels index heads in place.
 *
 * Forward: one dispatch of its own compute pass (two outputs, y and the per-row log-sum-exp L;
 * see webgpu.ts). Backward: one dispatch through tfjs's program API, writing dqkv [B*T, 3C].
 * The WGSL of both, and how they tile the work, is in attention-wgsl.ts.
 */
import * as tf from '@tensorflow/tfjs';
import * as ops from '../ops.ts';
import { AttentionGradProgram, attentionTile, forwardWgsl } from './attention-wgsl.ts';
import { simd, simdKernelsAvailable } from './simd.ts';
import {
  newOutput,
  bufferOf,
  pipelineFor,
  registerOnWebgpuAndWasm,
  submitAfterTfjs,
  type KernelArgs,
  type WebGPUBackend,
} from './webgpu.ts';

export { attentionTile };

/** The registered kernels' names. Forward: input qkv, attrs T and nHead; outputs y and L. */
export const ATTENTION_KERNEL = 'TabgptCausalAttention';
/** Backward: inputs qkv, y, lse, dy; attrs T and nHead; output dqkv. */
export const ATTENTION_GRAD_KERNEL = 'TabgptCausalAttentionGrad';

/** WebGPU's guaranteed workgroups per dispatch dimension: the forward dispatch is flat. */
const MAX_WORKGROUPS = 65535;

function shapes(qkv: { shape: number[] }, T: number, nHead: number) {
  const [rows, threeC] = qkv.shape;
  const C = threeC / 3;
  const hs = C / nHead;
  const B = rows / T;
  if (qkv.shape.length !== 2 || !Number.isInteger(C) || !Number.isInteger(hs) || !Number.isInteger(B)) {
    throw new Error(`causal attention: qkv [${qkv.shape}] is not [B*T, 3C] for T = ${T} and ${nHead} heads`);
  }
  const tile = attentionTile(hs);
  return { B, C, hs, tile, rowTiles: Math.ceil(T / tile) };
}

// ---------------------------------------------------------------------------------------------
// Forward: y and L, one dispatch of its own compute pass.

function attentionKernel({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo[] {
  const b = backend as WebGPUBackend;
  const qkv = inputs.qkv!;
  const T = attrs!.T as number;
  const nHead = attrs!.nHead as number;
  const { B, C, hs, tile, rowTiles } = shapes(qkv, T, nHead);
  const input = bufferOf(b, qkv);
  const y = newOutput(b, [B * T, C]);
  const lse = newOutput(b, [B, nHead, T]);
  const workgroups = B * nHead * rowTiles;
  if (workgroups > MAX_WORKGROUPS) throw new Error(`causal attention: ${workgroups} workgroups exceed one dispatch`);
  submitAfterTfjs(b, [
    {
      pipeline: pipelineFor(b.device, `tabgpt attention hs${hs} tile${tile}`, forwardWgsl(hs, tile)),
      uniforms: new Uint32Array([T, nHead, rowTiles, 0]).buffer,
      buffers: [input, y.buffer, lse.buffer],
      workgroups,
    },
  ]);
  return [y.info, lse.info];
}

// ---------------------------------------------------------------------------------------------
// Backward: dqkv, one dispatch through tfjs's program API.

function attentionGradKernel({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const b = backend as WebGPUBackend;
  const { qkv, y, lse, dy } = inputs as Record<'qkv' | 'y' | 'lse' | 'dy', tf.TensorInfo>;
  const T = attrs!.T as number;
  const nHead = attrs!.nHead as number;
  const { B, hs, rowTiles } = shapes(qkv, T, nHead);
  const program = new AttentionGradProgram(B, T, nHead, hs);
  const uniforms = [T, nHead, rowTiles].map((n) => ({ type: 'int32', data: [n] }));
  return b.runWebGPUProgram(program, [qkv, y, lse, dy], 'float32', uniforms);
}

// ---------------------------------------------------------------------------------------------
// wasm: the SIMD module, one (batch, head) at a time.

/** 1/√hs as the plain ops round it (a JS double, then float32 as the kernel reads it). */
const scaleOf = (hs: number) => 1 / Math.sqrt(hs);

function attentionWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const qkv = inputs.qkv!;
  const T = attrs!.T as number;
  const nHead = attrs!.nHead as number;
  const { B, C, hs } = shapes(qkv, T, nHead);
  const s = simd(backend);
  const y = s.output([B * T, C]);
  const lse = s.output([B, nHead, T]);
  const Tp = Math.ceil(T / 4) * 4;
  s.withScratch(hs * Tp + Tp, (scratch) => s.k.attentionForward(s.ptr(qkv), s.ptr(y), s.ptr(lse), B, T, nHead, hs, scaleOf(hs), scratch));
  return [y, lse];
}

function attentionGradWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { qkv, y, lse, dy } = inputs as Record<'qkv' | 'y' | 'lse' | 'dy', tf.TensorInfo>;
  const T = attrs!.T as number;
  const nHead = attrs!.nHead as number;
  const { B, hs } = shapes(qkv, T, nHead);
  const s = simd(backend);
  const dqkv = s.output(qkv.shape);
  const Tp = Math.ceil(T / 4) * 4;
  s.withScratch(2 * hs * Tp + T * hs + 2 * T * Tp + Tp, (scratch) =>
    s.k.attentionBackward(s.ptr(qkv), s.ptr(y), s.ptr(lse), s.ptr(dy), s.ptr(dqkv), B, T, nHead, hs, scaleOf(hs), scratch),
  );
  return dqkv;
}

/** Registers the webgpu and wasm kernels once (registering again would throw). */
export function registerAttentionKernels() {
  registerOnWebgpuAndWasm([
    [ATTENTION_KERNEL, attentionKernel as tf.KernelFunc, attentionWasm as tf.KernelFunc],
    [ATTENTION_GRAD_KERNEL, attentionGradKernel as tf.KernelFunc, attentionGradWasm as tf.KernelFunc],
  ]);
}

// ---------------------------------------------------------------------------------------------
// The function model.ts calls.

/**
 * Whether the kernels run for this call: on webgpu, a forward grid that fits one dispatch; on
 * wasm, the SIMD module and a head size that is a multiple of 4 (its lanes).
 */
export function attentionKernelsApply(qkv: tf.Tensor, T: number, nHead: number): boolean {
  if (tf.getBackend() === 'webgpu') {
    const { B, rowTiles } = shapes(qkv, T, nHead);
    return B * nHead * rowTiles <= MAX_WORKGROUPS;
  }
  return simdKernelsAvailable() && shapes(qkv, T, nHead).hs % 4 === 0;
}

/** One differentiable fused call per shape: tf.customGrad takes tensors only, so T and nHead are closed over. */
const fusedByShape = new Map<string, (qkv: tf.Tensor) => tf.Tensor2D>();

function fused(T: number, nHead: number): (qkv: tf.Tensor) => tf.Tensor2D {
  const key = `${T}:${nHead}`;
  let f = fusedByShape.get(key);
  if (!f) {
    const attrs = { T, nHead };
    f = tf.customGrad(((qkv: tf.Tensor, save: tf.GradSaveFunc) => {
      registerAttentionKernels();
      const [y, lse] = tf.engine().runKernel(ATTENTION_KERNEL, { qkv }, attrs) as tf.Tensor[];
      save([qkv, y, lse]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sq, sy, slse] = saved;
          return [tf.engine().runKernel(ATTENTION_GRAD_KERNEL, { qkv: sq, y: sy, lse: slse, dy }, attrs) as tf.Tensor];
        },
      };
    }) as Parameters<typeof tf.customGrad>[0]) as (qkv: tf.Tensor) => tf.Tensor2D;
    fusedByShape.set(key, f);
  }
  return f;
}

export interface AttentionOptions {
  /** Run the custom kernels where they can run (webgpu, wasm); false: always the plain tfjs ops. Default true. */
  fused?: boolean;
  /** The [T, T] additive causal mask the plain ops add (model.ts keeps one); built per call when absent. */
  mask?: tf.Tensor2D;
}

/**
 * Causal multi-head self-attention without the projections: qkv [B*T, 3C] (x·c_attn) →
 * y [B*T, C], softmax(q·kᵀ/√hs + causal mask)·v per head, heads side by side. Differentiable
 * (tf.grad, tf.variableGrads). No attention dropout: with dropout on the attention weights,
 * call the plain ops (fused: false).
 */
export function causalAttention(qkv: tf.Tensor, T: number, nHead: number, opts: AttentionOptions = {}): tf.Tensor2D {
  if ((opts.fused ?? true) && attentionKernelsApply(qkv, T, nHead)) return fused(T, nHead)(qkv);
  // The plain ops model.ts runs (ops.ts): the fallback, and the reference the kernels are tested against.
  if (opts.mask) return ops.causalAttention(qkv as tf.Tensor2D, T, nHead, opts.mask);
  return tf.tidy(() => ops.causalAttention(qkv as tf.Tensor2D, T, nHead, ops.causalMask(T)));
}
