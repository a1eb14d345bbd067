/** The CLI's stdout: JSON Lines, one object per event (start, step, eval, saved, summary, …). */
export function emit(obj: object) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}
