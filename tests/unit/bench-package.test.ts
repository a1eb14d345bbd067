/**
 * `npm run bench:package` (tests/bench/package.ts): its file list, size check and run.sh. Building
 * the package itself (bundling, compressing node) is too slow for here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { copiedFiles, GPU_TABLE_COMMAND, listFiles, readme, runScript, SIZE_LIMIT, sizeReport } from '../bench/package.ts';

describe('bench package', () => {
  test('lists every file, nested ones too, sorted, with sizes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabgpt-bench-package-'));
    mkdirSync(join(dir, 'dist', 'linux-x64'), { recursive: true });
    writeFileSync(join(dir, 'run.sh'), 'x'.repeat(10));
    writeFileSync(join(dir, 'bench.mjs'), 'x'.repeat(300));
    writeFileSync(join(dir, 'dist', 'linux-x64', 'dawn.node'), 'x'.repeat(2000));
    expect(listFiles(dir)).toEqual([
      { path: 'bench.mjs', bytes: 300 },
      { path: 'dist/linux-x64/dawn.node', bytes: 2000 },
      { path: 'run.sh', bytes: 10 },
    ]);
  });

  test('the size check: the total must be under the limit', () => {
    const files = [
      { path: 'a', bytes: 600 },
      { path: 'b', bytes: 400 },
    ];
    const under = sizeReport(files, 1001);
    expect(under).toMatchObject({ total: 1000, ok: true });
    expect(under.text).toMatch(/^ {2}a .* 600 B$/m);
    expect(under.text).toMatch(/^ {2}total .* 1,000 B$/m);
    expect(sizeReport(files, 1000).ok).toBe(false); // equal is too much
    expect(sizeReport(files, 1000).text).toContain('over the');
    expect(SIZE_LIMIT).toBe(64 * 1024 * 1024);
  });

  test('copies files that exist: Dawn, the wasm binaries, the corpus and the PyTorch script', () => {
    const copies = copiedFiles();
    for (const [from] of copies) expect(existsSync(from), from).toBe(true);
    expect(copies.map(([, to]) => to).sort()).toEqual([
      'dist/linux-x64/dawn.node',
      'dist/moby-dick.txt',
      'tfjs-backend-wasm-simd.wasm',
      'tfjs-backend-wasm-threaded-simd.wasm',
      'tfjs-backend-wasm.wasm',
      'torch_gpt.py',
    ]);
  });

  test('run.sh is valid sh, and the README names it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabgpt-bench-package-'));
    writeFileSync(join(dir, 'run.sh'), runScript());
    execFileSync('sh', ['-n', join(dir, 'run.sh')]);
    expect(runScript()).toContain('exec "$node" "$here/bench.mjs" "$@"');
    const text = readme({ node: '20.0.0', git: 'commit abc', tfjs: '4', webgpu: '0', date: '2026-01-01', vulkan: false });
    expect(text).toContain('./run.sh --backends webgpu');
    // The one command whose figures fill the README's GPU table: both configs on webgpu, saved.
    expect(text).toContain(GPU_TABLE_COMMAND);
    expect(GPU_TABLE_COMMAND).toMatch(/--backends webgpu --configs tiny,reference --save \S+\.json$/);
    expect(text).not.toContain('libvulkan.so.1          the Vulkan loader');
  });
});
