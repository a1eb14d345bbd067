/**
 * WebGPU in Node through the `webgpu` package (Dawn). Must run before the tfjs webgpu backend
 * is imported: it registers only if navigator.gpu exists at that moment.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's chromium ships SwiftShader's software Vulkan driver here. */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Installs navigator.gpu from Dawn. Uses the machine's own Vulkan driver when one gives an
 * adapter, and otherwise SwiftShader's software one (slow, but WebGPU all the same).
 */
export async function installNodeWebGPU(): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return;
  // Without a runtime dir (a headless shell, CI) the Vulkan loader prints an alarming but
  // harmless error per instance; a private one keeps stderr for real problems.
  process.env.XDG_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'tabgpt-xdg-'));
  const { create, globals } = await import('webgpu');
  let gpu = create([]);
  if (!(await gpu.requestAdapter()) && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD; // the Vulkan loader reads it per instance
    gpu = create([]);
  }
  Object.assign(globalThis, globals);
  Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
}
