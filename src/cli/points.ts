/**
 * The points `fit` reads: CSV (N,D,loss), a JSON array, or `sweep`'s JSON lines, whose start line
 * also says which corpus the points measure and its unigram level.
 */
import { parseDecimal, UsageError } from './flags.ts';

export type Point = { N: number; D: number; loss: number };
const COLUMNS = ['N', 'D', 'loss'] as const;

/**
 * Points from CSV (N,D,loss), a JSON array, or `sweep`'s JSON lines. A CSV cell is read as a flag
 * is, decimal only (not 0x10, not an empty cell), and each refusal says where (a line of the file,
 * or a point of a JSON array) and quotes what it found there.
 */
export function parsePoints(text: string, source: string): Point[] {
  const trimmed = text.trim();
  const refuse = (where: string, what: string): never => {
    throw new UsageError(`${source}: ${where}: ${what}`);
  };
  if (trimmed === '') throw new UsageError(`${source} is empty: it needs points (CSV N,D,loss; a JSON array; or sweep's point lines)`);
  const json = (t: string, where: string): unknown => {
    try {
      return JSON.parse(t);
    } catch {
      return refuse(where, 'not valid JSON');
    }
  };
  /** A JSON point's value: a positive number; anything else quoted as JSON (a number past a double's range says so). */
  const fromJson = (row: unknown, where: string): Point => {
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      return refuse(where, `expected {N, D, loss}, got ${JSON.stringify(row)}`);
    const r = row as Record<string, unknown>;
    const [N, D, loss] = COLUMNS.map((k) => {
      const x = r[k];
      if (x === undefined) return refuse(where, `${k} is missing`);
      if (typeof x !== 'number') return refuse(where, `${k} must be a positive number, got ${JSON.stringify(x)}`);
      if (!Number.isFinite(x)) return refuse(where, `${k} must be a positive number, got one too large for a double`);
      if (!(x > 0)) return refuse(where, `${k} must be a positive number, got ${x}`);
      return x;
    });
    return { N, D, loss };
  };
  let points: Point[];
  if (trimmed.startsWith('[')) {
    const all = json(trimmed, 'the file');
    if (!Array.isArray(all)) return refuse('the file', 'expected a JSON array of {N, D, loss}');
    points = all.map((r, i) => fromJson(r, `point ${i + 1}`));
  } else if (trimmed.startsWith('{')) {
    // `sweep`'s JSON lines: blank lines are skipped, every other line must be an object.
    points = [];
    text.split(/\r?\n/).forEach((l, i) => {
      if (l.trim() === '') return;
      const where = `line ${i + 1}`;
      const o = json(l.trim(), where);
      if (o === null || typeof o !== 'object' || Array.isArray(o)) refuse(where, `expected a JSON object, got ${JSON.stringify(o)}`);
      if ((o as { type?: unknown }).type === 'point') points.push(fromJson(o, where));
    });
  } else {
    const lines = text.split(/\r?\n/);
    const head = lines.findIndex((l) => l.trim() !== '');
    const cols = lines[head].split(',').map((c) => c.trim());
    const at = COLUMNS.map((name) => {
      const i = cols.indexOf(name);
      if (i < 0) throw new UsageError(`${source}: the CSV header has no ${name} column (it needs N,D,loss)`);
      return i;
    });
    points = [];
    lines.forEach((l, i) => {
      if (i <= head || l.trim() === '') return;
      const where = `line ${i + 1}`;
      const cells = l.split(',').map((c) => c.trim());
      const [N, D, loss] = COLUMNS.map((name, k) => {
        const cell = cells[at[k]];
        if (cell === undefined) return refuse(where, `it has ${cells.length} cells, too few for the ${name} column`);
        const x = parseDecimal(cell);
        if (!(x > 0)) return refuse(where, `${name} must be a positive decimal number, got ${JSON.stringify(cell)}`);
        return x;
      });
      points.push({ N, D, loss });
    });
  }
  if (points.length === 0) throw new UsageError(`${source}: no points (CSV N,D,loss; a JSON array; or sweep's point lines)`);
  return points;
}

/** What a sweep's start line records (its corpus and unigram level), when the points are sweep's own lines. */
export function sweepStart(text: string): { corpus: string | null; unigram: number | null } | null {
  const first = text.trimStart().split(/\r?\n/, 1)[0];
  if (!first.startsWith('{')) return null;
  try {
    const start = JSON.parse(first) as { type?: unknown; unigram?: unknown; corpus?: unknown };
    if (start.type !== 'start') return null;
    return {
      corpus: typeof start.corpus === 'string' ? start.corpus : null,
      unigram: typeof start.unigram === 'number' && start.unigram > 0 ? start.unigram : null,
    };
  } catch {
    return null; // parsePoints has already said what is wrong with the line
  }
}
