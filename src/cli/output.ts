/**
 * The CLI's stdout: JSON Lines, one object per event (start, step, eval, saved, summary, …). A
 * write that fails (a full disk, /dev/full) ends the process with one line on stderr and exit 1;
 * a reader that went away (EPIPE: `| head`) ends nothing and says nothing, as before.
 */

/** Whether stdout's reader went away (EPIPE: `| head` has read its lines). */
let readerGone = false;

/** The first failed write: reported once, then the process exits. */
function writeFailed(err: Error | null | undefined) {
  if (!err) return;
  if ((err as NodeJS.ErrnoException).code === 'EPIPE') {
    readerGone = true;
    process.stdout.emit('drain'); // a writer waiting for room (emitPaced) goes on, and sees readerGone
    return;
  }
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

/**
 * emit for a long stream of lines (batches): waits while stdout's buffer is full (a slow reader,
 * a pipe), so memory stays bounded, and gives the event loop a turn every 1,000 lines. Resolves
 * false once the reader has gone away: the stream has no one left to write for.
 */
let sinceTurn = 0;
export async function emitPaced(obj: object): Promise<boolean> {
  if (readerGone) return false;
  if (!process.stdout.write(JSON.stringify(obj) + '\n', writeFailed)) await new Promise((room) => process.stdout.once('drain', room));
  else if (++sinceTurn >= 1000) {
    sinceTurn = 0;
    await new Promise((turn) => setImmediate(turn));
  }
  return !readerGone;
}

/** Resolves once everything written so far has been handed over (or its failure reported): before the process exits. */
export function flushOutput(): Promise<void> {
  return new Promise((done) => process.stdout.write('', (err) => (writeFailed(err), done())));
}
