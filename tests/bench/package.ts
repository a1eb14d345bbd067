/**
 * `npm run bench:package`: packs the Node bench into one folder (default out/bench-gpu/) that runs
 * on a bare Linux x64 machine with a GPU, no npm and no network: the bench bundled into one ES
 * module with everything it imports, Dawn's native addon, the tfjs .wasm binaries, the corpus,
 * the PyTorch reference, this machine's node (xz-compressed) and a run.sh that starts it all.
 * Prints each file's size and the total, and fails if the folder is 64 MiB or more.
 *
 * The bundle finds its files beside itself, the way the modules it holds find theirs beside
 * them: import.meta.url is bench.mjs's own URL. So the corpus is dist/moby-dick.txt (datasets/
 * corpora.ts reads dist/ beside it), Dawn is dist/linux-x64/dawn.node (the `webgpu` package's
 * index.js loads dist/<platform>-<arch>/dawn.node beside it), torch_gpt.py sits beside bench.mjs
 * (tests/bench/torch.ts), and so do the .wasm binaries (the wasm backend's Emscripten loader
 * looks in __dirname, which the bundle defines as bench.mjs's folder).
 */
import { errorMessage } from '../../src/core/errors.ts';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Plugin } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The folder must be smaller than this, all files together. */
export const SIZE_LIMIT = 64 * 1024 * 1024;

/** Node older than this cannot run the bundle (import.meta.dirname, the project's own engines field). */
export const MIN_NODE = '20.19';

export interface PackagedFile {
  path: string; // relative to the folder, with '/'
  bytes: number;
}

/** Every file under dir, recursively, sorted by path. */
export function listFiles(dir: string): PackagedFile[] {
  const files: PackagedFile[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push({ path: relative(dir, full).split(sep).join('/'), bytes: statSync(full).size });
    }
  };
  walk(dir);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** 1234567 → "1.18 MiB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

/** One line per file and a total line; whether the total is under the limit. */
export function sizeReport(files: readonly PackagedFile[], limit = SIZE_LIMIT): { text: string; total: number; ok: boolean } {
  const total = files.reduce((sum, f) => sum + f.bytes, 0);
  const width = Math.max(...files.map((f) => f.path.length), 'total'.length);
  const line = (name: string, bytes: number) =>
    `  ${name.padEnd(width)}  ${formatBytes(bytes).padStart(10)}  ${bytes.toLocaleString('en-US').padStart(12)} B`;
  const ok = total < limit;
  const text = [
    ...files.map((f) => line(f.path, f.bytes)),
    line('total', total),
    ok
      ? `  under the ${formatBytes(limit)} limit by ${formatBytes(limit - total)}`
      : `  ${formatBytes(total - limit)} over the ${formatBytes(limit)} limit (it must be under)`,
  ].join('\n');
  return { text, total, ok };
}

/** The files copied as they are: [from, relative to the repo root or absolute; to, inside the folder]. */
export function copiedFiles(): [from: string, to: string][] {
  const wasmDir = join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const webgpuDir = dirname(createRequire(import.meta.url).resolve('webgpu/package.json'));
  const wasm = readdirSync(wasmDir)
    .filter((f) => f.endsWith('.wasm'))
    .sort();
  if (wasm.length === 0) throw new Error(`no .wasm binaries in ${wasmDir}`);
  return [
    ...wasm.map((f): [string, string] => [join(wasmDir, f), f]),
    [join(webgpuDir, 'dist', 'linux-x64', 'dawn.node'), 'dist/linux-x64/dawn.node'],
    [join(root, 'datasets', 'dist', 'moby-dick.txt'), 'dist/moby-dick.txt'],
    [join(root, 'tests', 'bench', 'torch_gpt.py'), 'torch_gpt.py'],
  ];
}

/** The Vulkan loader that Dawn opens (libvulkan.so.1), where this machine has one: run.sh uses it only where the target has none. */
function vulkanLoader(): string | null {
  try {
    const line = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' })
      .split('\n')
      .find((l) => /libvulkan\.so\.1 \(libc6,x86-64\)/.test(l));
    const path = line?.split('=> ')[1]?.trim();
    if (path && existsSync(path)) return path;
  } catch {
    // no ldconfig: look in the usual place
  }
  const debian = '/usr/lib/x86_64-linux-gnu/libvulkan.so.1';
  return existsSync(debian) ? debian : null;
}

/**
 * bench.ts and everything it imports as one ES module, `--browser` left out: its module
 * (playwright, vite) becomes a stub that says the packaged bench cannot do that.
 */
async function bundle(outFile: string): Promise<void> {
  const { build } = await import('vite');
  const stubId = '\0tabgpt:packaged-browser';
  let stubbed = false;
  const noBrowser: Plugin = {
    name: 'tabgpt:packaged-no-browser',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source === './browser.ts' && importer && resolve(importer) === join(root, 'tests', 'bench', 'bench.ts')) return stubId;
      return null;
    },
    load(id) {
      if (id !== stubId) return null;
      stubbed = true;
      return `export async function benchInChromium() { throw new Error('--browser needs the repository (playwright, vite, Chromium): the packaged bench runs in Node only'); }`;
    },
  };
  const tmp = mkdtempSync(join(tmpdir(), 'tabgpt-bench-package-'));
  try {
    await build({
      configFile: false,
      root,
      logLevel: 'warn',
      mode: 'production',
      plugins: [noBrowser],
      // Emscripten's Node loader (the wasm backend) reads __dirname, which an ES module lacks.
      define: { __dirname: 'import.meta.dirname', __filename: 'import.meta.filename' },
      ssr: { noExternal: true, target: 'node' },
      build: {
        ssr: join(root, 'tests', 'bench', 'bench.ts'),
        outDir: tmp,
        emptyOutDir: true,
        target: 'node20',
        minify: false,
        sourcemap: false,
        copyPublicDir: false,
        reportCompressedSize: false,
        rolldownOptions: { output: { format: 'es', entryFileNames: 'bench.mjs', codeSplitting: false } },
      },
    });
    if (!stubbed)
      throw new Error("tests/bench/bench.ts no longer imports './browser.ts': update the --browser stub in tests/bench/package.ts");
    const out = readdirSync(tmp);
    if (out.length !== 1 || out[0] !== 'bench.mjs') throw new Error(`the bundle came out as ${out.join(', ')}, not one bench.mjs`);
    copyFileSync(join(tmp, 'bench.mjs'), outFile);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * This machine's node, `xz -9 -T1`. Kept in out/.bench-package-cache/ by version and size, since
 * compressing ~100 MB takes a minute or two.
 */
function compressedNode(): string {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(
      `the package's node is this machine's own, and Dawn's addon is linux-x64: package on Linux x64 (this is ${process.platform} ${process.arch})`,
    );
  try {
    execFileSync('xz', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('xz is missing (apt-get install xz-utils)');
  }
  const cacheDir = join(root, 'out', '.bench-package-cache');
  const cached = join(cacheDir, `node-${process.version}-linux-x64-${statSync(process.execPath).size}.xz`);
  if (existsSync(cached)) return cached;
  mkdirSync(cacheDir, { recursive: true });
  process.stderr.write(`compressing ${process.execPath} (node ${process.version}) with xz -9 -T1: a minute or two…\n`);
  const part = `${cached}.part`;
  execFileSync('sh', ['-c', 'xz -9 -T1 -c "$1" > "$2"', 'sh', process.execPath, part], { stdio: 'inherit' });
  renameSync(part, cached);
  return cached;
}

function gitDescription(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return `commit ${commit}${dirty ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'no git commit known';
  }
}

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(createRequire(import.meta.url).resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
}

/** run.sh: a node ≥ MIN_NODE from PATH, else the bundled one, unpacked once; torch on CUDA where it works. */
export function runScript(): string {
  const [major, minor] = MIN_NODE.split('.');
  return `#!/bin/sh
# The tabgpt bench, packaged (see README.txt): ./run.sh [bench flags], e.g. ./run.sh --backends webgpu
set -eu
here=$(cd "$(dirname "$0")" && pwd)

# A node >= ${MIN_NODE}: $TABGPT_NODE, or the one on PATH, or node.xz unpacked once (beside this script, or in /tmp).
node_ok() {
  "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > ${major} || (a === ${major} && b >= ${minor}) ? 0 : 1)' >/dev/null 2>&1
}
unpack() { # node.xz -> $1
  echo "run.sh: no node >= ${MIN_NODE} on PATH: unpacking node.xz to $1" >&2
  if command -v xz >/dev/null 2>&1; then set -- "$1" xz -dc "$here/node.xz"
  elif command -v python3 >/dev/null 2>&1; then set -- "$1" python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$here/node.xz"
  else echo "run.sh: neither xz nor python3 is here to unpack node.xz: install one, or put a node >= ${MIN_NODE} on PATH" >&2; exit 1
  fi
  to=$1; shift
  "$@" > "$to.part" || { rm -f "$to.part"; echo "run.sh: could not unpack node.xz" >&2; exit 1; }
  chmod +x "$to.part" && mv "$to.part" "$to"
}
if [ -n "\${TABGPT_NODE:-}" ]; then node=$TABGPT_NODE
elif command -v node >/dev/null 2>&1 && node_ok node; then node=node
else
  node=$here/node
  if ! [ -x "$node" ]; then
    if [ -w "$here" ]; then unpack "$node"
    else
      node=\${TMPDIR:-/tmp}/tabgpt-bench-node-$(id -u)-$(cksum < "$here/node.xz" | cut -d' ' -f1)
      [ -x "$node" ] || unpack "$node"
    fi
  fi
  node_ok "$node" || { echo "run.sh: the bundled node does not run here:" >&2; "$node" --version >&2; exit 1; }
fi

# Dawn opens the Vulkan loader, libvulkan.so.1; where the system has none, the copy in lib/.
if ! { { ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null | grep -q 'libvulkan\\.so\\.1 '; } && [ -e "$here/lib/libvulkan.so.1" ]; then
  export LD_LIBRARY_PATH="$here/lib\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# A container whose NVIDIA driver is mounted under /usr/local/nvidia but not registered with the loader.
if [ -z "\${VK_ICD_FILENAMES:-}\${VK_DRIVER_FILES:-}" ] && [ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] \\
  && ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi

# PyTorch on the GPU where the Python the bench picks (/usr/bin/python3, then python3) has CUDA.
case " $* " in *" --no-torch "*) ;; *)
  if [ -z "\${TABGPT_TORCH_DEVICE:-}" ]; then
    for py in /usr/bin/python3 python3; do
      if "$py" -c 'import torch' >/dev/null 2>&1; then
        if [ "$("$py" -c 'import torch; print(torch.cuda.is_available())' 2>/dev/null)" = True ]; then
          export TABGPT_TORCH_DEVICE=cuda
          echo "run.sh: PyTorch ($py) has CUDA: its rows train on the GPU" >&2
        fi
        break
      fi
    done
  fi ;;
esac

exec "$node" "$here/bench.mjs" "$@"
`;
}

/** The one run whose figures fill the README's GPU table. */
export const GPU_TABLE_COMMAND = './run.sh --backends webgpu --configs tiny,reference --save gpu-table.json';

export function readme(info: { node: string; git: string; tfjs: string; webgpu: string; date: string; vulkan: boolean }): string {
  return `tabgpt bench, packaged
======================

The Node benchmark of tabgpt (npm run bench: train a tiny character GPT with TensorFlow.js for a
few steps on the cpu, wasm and webgpu backends, beside PyTorch), packed into one folder that runs
on a Linux x64 machine with no npm and no network. WebGPU comes from Dawn (the \`webgpu\` npm
package) on the machine's Vulkan driver.

Built ${info.date} from ${info.git}; node ${info.node}, tfjs ${info.tfjs}, webgpu ${info.webgpu}.

Run
---
    ./run.sh                          # tiny and reference configs on cpu, wasm and webgpu, beside PyTorch
    ./run.sh --backends webgpu        # the GPU only
    ./run.sh --backends webgpu --configs tiny --steps 20
    ./run.sh --help                   # every flag (as npm run bench -- --help)

For the README's GPU table
--------------------------
One command gives every figure that table needs: ms/step of the tiny and reference configs on
webgpu, GPU dispatches per step, and PyTorch on CUDA beside them (the torch rows, on the GPU
where torch has CUDA):

    ${GPU_TABLE_COMMAND}

Bring gpu-table.json back and npm run bench -- --show gpu-table.json prints the same tables in
the repo.

Tables go to stdout, progress to stderr. The whole run is saved as JSON in
out/bench/bench-<date>.json under the current directory (--save FILE puts it elsewhere, --json
prints it instead of the tables); bring it back and compare in the repo with
npm run bench -- --show FILE, or --compare FILE.

What is in here
---------------
    run.sh                      picks a node >= ${MIN_NODE} (PATH, else node.xz unpacked once to ./node or /tmp)
    bench.mjs                   tests/bench/bench.ts and all it imports (tfjs, src/bench/worker/, workers/), one ES module
    node.xz                     node ${info.node} for Linux x64, xz-compressed
    dist/linux-x64/dawn.node    Dawn, the native WebGPU addon of the \`webgpu\` package
    dist/moby-dick.txt          the default corpus (--corpus PATH trains on another UTF-8 text file)
    tfjs-backend-wasm*.wasm     the wasm backend's binaries
    torch_gpt.py                the PyTorch reference (the same model and optimizer)${
      info.vulkan
        ? `
    lib/libvulkan.so.1          the Vulkan loader, used only where the system has none`
        : ''
    }

GPU notes
---------
- On a real NVIDIA driver Dawn finds the GPU by itself: VK_ICD_FILENAMES is not needed. It is
  only for software Vulkan on a machine without a GPU, which is slow (seconds a step), e.g.
      VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json ./run.sh --backends webgpu --configs micro
  The line under the table names the adapter that ran (e.g. "webgpu: nvidia hopper"); a
  backend that could not start is listed with the reason.
- Needs glibc >= 2.34 (Dawn). Without a system Vulkan loader (Debian/Ubuntu: libvulkan1),
  run.sh uses the one in lib/. In a container whose NVIDIA driver lives under /usr/local/nvidia,
  run.sh points VK_DRIVER_FILES at its nvidia_icd.json when no other ICD is registered.
- The torch rows use /usr/bin/python3, then python3, whichever imports torch; run.sh asks
  torch_gpt.py for --device cuda when torch.cuda.is_available() (TABGPT_TORCH_DEVICE=cpu keeps
  it on the CPU). The torch rows still say "torch 1t": that is PyTorch's CPU thread count.
  Without torch the PyTorch columns show "—"; --no-torch skips it.
- --browser does not work here: it needs the repository (Chromium, playwright, vite).
`;
}

const HELP = `usage: npm run bench:package [-- --out DIR]

Builds the Node bench into one folder (default out/bench-gpu/) that runs on a Linux x64 machine
with a GPU and no npm or network: ./run.sh there, as npm run bench here. Fails if the folder is
${formatBytes(SIZE_LIMIT)} or more.`;

/** Clears dir for a new package, refusing a folder that holds anything but an earlier package. */
function prepareOutDir(dir: string): void {
  if (existsSync(dir)) {
    const entries = readdirSync(dir);
    if (entries.length && !(entries.includes('bench.mjs') && entries.includes('run.sh'))) {
      throw new Error(`${dir} exists and is not an earlier bench package (no bench.mjs and run.sh): pick another --out`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string', default: join('out', 'bench-gpu') }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  const out = resolve(values.out);
  if (root.startsWith(out + sep) || resolve(root) === out) throw new Error(`--out ${values.out} holds the repository`);
  const copies = copiedFiles();
  for (const [from] of copies) if (!existsSync(from)) throw new Error(`${from} is missing (npm install, which also builds datasets/dist)`);
  const node = compressedNode(); // before clearing out/, in case it fails
  const vulkan = vulkanLoader();

  prepareOutDir(out);
  process.stderr.write(`bundling tests/bench/bench.ts…\n`);
  await bundle(join(out, 'bench.mjs'));
  for (const [from, to] of copies) {
    mkdirSync(dirname(join(out, to)), { recursive: true });
    copyFileSync(from, join(out, to));
  }
  copyFileSync(node, join(out, 'node.xz'));
  if (vulkan) {
    mkdirSync(join(out, 'lib'));
    copyFileSync(vulkan, join(out, 'lib', 'libvulkan.so.1'));
  } else process.stderr.write('no Vulkan loader (libvulkan.so.1) on this machine: the package leaves it to the target\n');
  writeFileSync(join(out, 'run.sh'), runScript());
  chmodSync(join(out, 'run.sh'), 0o755);
  const info = {
    node: process.versions.node,
    git: gitDescription(),
    tfjs: packageVersion('@tensorflow/tfjs'),
    webgpu: packageVersion('webgpu'),
    date: new Date().toISOString().slice(0, 10),
    vulkan: vulkan !== null,
  };
  writeFileSync(join(out, 'README.txt'), readme(info));

  const report = sizeReport(listFiles(out));
  process.stdout.write(`${relative(process.cwd(), out) || '.'}/\n${report.text}\n`);
  if (!report.ok) throw new Error(`the package is ${formatBytes(report.total)}: it must stay under ${formatBytes(SIZE_LIMIT)}`);
  process.stdout.write(`copy the folder to the GPU machine and run ./run.sh there (README.txt says more)\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`error: ${errorMessage(err)}\n`);
      process.exit(1);
    },
  );
}
