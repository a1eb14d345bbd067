/**
 * What the sample and score panels show, computed without the DOM or tfjs: the most probable
 * next characters, characters made visible, and surprisal as a colour.
 */
import { annealedDistribution } from '../core/sampling.ts';

/** One character of the vocabulary and its probability. */
export interface Ranked {
  char: string;
  index: number; // into the vocabulary
  p: number;
}

/** The k most probable characters, most probable first; equal probabilities keep vocabulary order. */
export function topK(probs: ArrayLike<number>, vocab: readonly string[], k: number): Ranked[] {
  if (probs.length !== vocab.length) {
    throw new RangeError(`${probs.length} probabilities for a vocabulary of ${vocab.length} characters`);
  }
  const all = Array.from(probs, (p, index) => ({ char: vocab[index], index, p }));
  // Array.prototype.sort is stable, and the index tie-break makes that explicit.
  all.sort((a, b) => b.p - a.p || a.index - b.index);
  return all.slice(0, Math.max(0, Math.floor(k)));
}

/** A row of the next-character chart: the model's probability and the annealed one. */
export interface NextCharRow extends Ranked {
  pT: number; // probability at the chosen temperature
}

export interface NextCharChartData {
  rows: NextCharRow[];
  restP: number; // mass of the characters not shown, at T = 1
  restPT: number; // the same at the chosen temperature
}

/**
 * The k most probable next characters at T = 1 beside their probabilities at `temperature`.
 * p^(1/T) keeps the order of p, so the top k are the same characters at every temperature.
 */
export function nextCharChart(probs: number[], vocab: readonly string[], temperature: number, k: number): NextCharChartData {
  const annealed = annealedDistribution(probs, temperature);
  const rows = topK(probs, vocab, k).map((r) => ({ ...r, pT: annealed[r.index] }));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    rows,
    // Clamped: float rounding can leave a tiny negative rest when the top k hold everything.
    restP: Math.max(0, 1 - sum(rows.map((r) => r.p))),
    restPT: Math.max(0, 1 - sum(rows.map((r) => r.pT))),
  };
}

// Control Pictures (U+2400 block) for the characters that would otherwise be invisible.
const VISIBLE: Record<string, string> = {
  ' ': '␣',
  '\n': '↵',
  '\t': '⇥',
  '\r': '␍',
  '\u00a0': '⍽', // no-break space
  '\u007f': '␡',
};

const NAMES: Record<string, string> = {
  ' ': 'space',
  '\n': 'newline',
  '\t': 'tab',
  '\r': 'carriage return',
  '\u00a0': 'no-break space',
};

/** A character as it can be seen on its own: whitespace and control characters get a symbol. */
export function displayChar(ch: string): string {
  if (ch in VISIBLE) return VISIBLE[ch];
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20) return String.fromCodePoint(0x2400 + cp); // ␀ … ␟
  return ch;
}

/** How a character is named for a tooltip or a screen reader: "space", or "é" (U+00E9). */
export function charLabel(ch: string): string {
  const hex = `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  return ch in NAMES ? `${NAMES[ch]} (${hex})` : `"${displayChar(ch)}" (${hex})`;
}

/** Nats to bits. */
export function toBits(nats: number): number {
  return nats / Math.LN2;
}

/**
 * Surprisal at which the heat strip is darkest: 8 bits is a 1-in-256 guess, worse than
 * uniform over any vocabulary of this corpus's size, so every darker shade means "surprised".
 */
export const HEAT_MAX_BITS = 8;

/** Surprisal in bits → shade from 0 (expected) to 1 (at least `maxBits`); a non-number is darkest. */
export function heatIntensity(bits: number, maxBits = HEAT_MAX_BITS): number {
  if (Number.isNaN(bits)) return 1;
  return Math.min(1, Math.max(0, bits / maxBits));
}

/** Background and text colour for a shade: light to dark red, with white text once it is dark. */
export function heatColours(intensity: number): { background: string; color: string } {
  const t = Math.min(1, Math.max(0, intensity));
  const lightness = 97 - t * 62; // 97% (near white) → 35%
  return { background: `hsl(8 75% ${lightness.toFixed(1)}%)`, color: lightness < 60 ? '#fff' : '#222' };
}

/** A probability as a percentage short enough for a chart label: 23.1%, 0.4%, <0.1%, 0%. */
export function formatPercent(p: number): string {
  if (p <= 0) return '0%';
  if (p < 0.001) return '<0.1%';
  return `${(p * 100).toFixed(1)}%`;
}

/**
 * How many training steps pass before the next-character chart asks again: a twentieth of the
 * run, from 10 to 250 steps, so it follows the model without queuing work between every step.
 */
export function refreshEvery(maxSteps: number): number {
  if (!(maxSteps > 0)) return 10;
  return Math.min(250, Math.max(10, Math.round(maxSteps / 20)));
}
