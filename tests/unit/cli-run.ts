/** Runs the CLI as a user would (`node src/cli/main.ts …`): its exit code, its JSON lines on stdout, its stderr. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

export async function cli(...args: string[]) {
  try {
    const { stdout } = await run('node', ['--import', 'tsx', 'src/cli/main.ts', ...args], { maxBuffer: 64 << 20 });
    return { code: 0, lines: jsonLines(stdout), stderr: '' };
  } catch (err) {
    // A command that fails may have printed lines first (fit prints its line, then refuses --predict).
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, lines: jsonLines(e.stdout ?? ''), stderr: e.stderr };
  }
}
