/**
 * The CLI's stdout: JSON Lines, one object per event (start, step, eval, saved, summary, …). A
 * write that fails (a full disk, /dev/full) ends the process with one line on stderr and exit 1;
 * a reader that went away (EPIPE: `| head`) ends nothing and says nothing, as before.
 */

/** The first failed write: reported once, then the process exits. */
function writeFailed(err: Error | null | undefined) {
  if (!err || (err as NodeJS.ErrnoException).code === 'EPIPE') return;
  process.stderr.write(`error: cannot write the output to stdout (${(err as NodeJS.ErrnoException).code ?? err.message})\n`);
  process.exit(1);
}
process.stdout.on('error', writeFailed); // without a listener, a failed asynchronous write would throw

/** Writes text to stdout, checking that the write went through. */
export function print(text: string) {
  process.stdout.write(text, writeFailed);
}

export function emit(obj: object) {
  print(JSON.stringify(obj) + '\n');
}

/** Resolves once everything written so far has been handed over (or its failure reported): before the process exits. */
export function flushOutput(): Promise<void> {
  return new Promise((done) => process.stdout.write('', (err) => (writeFailed(err), done())));
}
