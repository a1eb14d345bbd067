/**
 * WebGPU in Node through the `webgpu` package (Dawn). Must run before the tfjs webgpu backend
 * is imported: it registers only if navigator.gpu exists at that moment.
 *
 * Which Vulkan drivers Dawn may load is decided first, in a child process: a driver without a
 * device (Mesa's on a machine with no GPU of theirs, lavapipe) makes Dawn and the Vulkan loader
 * print warnings with source paths straight to the process's stderr, which no JavaScript can
 * catch. The child's stderr is thrown away; this process then loads only the drivers that gave
 * an adapter, quietly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's chromium ships SwiftShader's software Vulkan driver here. */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Where the Vulkan loader finds drivers on Linux. */
const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/share/vulkan/icd.d'];

/** Driver manifests that may drive a GPU: software rasterisers (lavapipe, SwiftShader) are not. */
export function hardwareDriverCandidates(manifests: string[]): string[] {
  return manifests.filter((f) => f.endsWith('.json') && !/(^|\/)(lvp|lavapipe|vk_swiftshader|swiftshader)[^/]*$/i.test(f));
}

/** Asks each driver, in a child process, whether Dawn gets a hardware adapter from it. */
function workingDrivers(candidates: string[]): string[] {
  if (candidates.length === 0) return [];
  const probe = `
    const { create } = await import('webgpu');
    const works = [];
    for (const file of JSON.parse(process.argv[1])) {
      process.env.VK_ICD_FILENAMES = file;
      const adapter = await create([]).requestAdapter();
      if (adapter && !adapter.info?.isFallbackAdapter) works.push(file);
    }
    process.stdout.write(JSON.stringify(works));
    process.exit(0);`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe, JSON.stringify(candidates)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 60_000,
  });
  try {
    return (JSON.parse(run.stdout) as string[]).filter((f) => candidates.includes(f));
  } catch {
    return []; // the probe crashed or timed out: no GPU this process can count on
  }
}

/**
 * Installs navigator.gpu from Dawn, on the machine's GPUs when a Vulkan driver gives an adapter.
 * Without one, `software` (a run that asked for WebGPU by name) takes SwiftShader's software
 * driver, slow but WebGPU all the same; otherwise this throws, and 'auto' goes on to wasm, which
 * is faster than software WebGPU. A VK_ICD_FILENAMES or VK_DRIVER_FILES of the user's is kept as given.
 */
export async function installNodeWebGPU({ software = true }: { software?: boolean } = {}): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return;
  // Without a runtime dir (a headless shell, CI) the Vulkan loader prints an alarming but
  // harmless error per instance; a private one keeps stderr for real problems.
  process.env.XDG_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'tabgpt-xdg-'));
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES) {
    const manifests = ICD_DIRS.filter(existsSync).flatMap((dir) => readdirSync(dir).map((f) => join(dir, f)));
    const drivers = workingDrivers(hardwareDriverCandidates(manifests));
    if (drivers.length) process.env.VK_ICD_FILENAMES = drivers.join(':');
    else if (software && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    else throw new Error('no GPU with a working Vulkan driver (software WebGPU runs only when asked for with --backend webgpu)');
  }
  const { create, globals } = await import('webgpu');
  const gpu = create([]);
  Object.assign(globalThis, globals);
  Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
}
