/**
 * The SIMD kernels of the wasm backend, compiled by AssemblyScript into one module that shares
 * tfjs-wasm's memory (tests/kernels/build.ts; the host side is ../simd.ts). Nothing here
 * allocates or keeps data in memory: the module has no data segment, so instantiating it
 * writes nothing into tfjs's heap.
 */
export { attentionBackward, attentionForward } from './attention';
export { crossEntropyGrad, meanCrossEntropy, softmaxStats } from './cross-entropy';
export { gelu, geluGrad } from './gelu';
export { layerNorm, layerNormGradGamma, layerNormGradX } from './layer-norm';
export { adamw, sumSquares } from './adamw';
export { matmul, weightGrad } from './products';
