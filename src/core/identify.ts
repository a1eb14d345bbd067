/**
 * Whether a fitted L(N, D) = E + A/N^α + B/D^β is a law or only a curve through its points.
 * A fit always returns numbers; they mean something only if the points span enough of the curve
 * to pin each parameter down. Decided from the fit itself and its bootstrap, each reason in words:
 *
 * - too few distinct N or D: with two sizes, A and α trade off exactly (any α fits two points);
 * - a parameter at its bound: E → 0 (the points show no floor: the law would fall forever), an
 *   exponent → 0 (the loss does not depend on N or D here) or beyond 5 (no power law is that steep);
 * - a coefficient's bootstrap interval spanning more than 12 orders of magnitude: resampling the
 *   points moves it anywhere, so the data do not hold it (Besiroglu et al. 2024 read Chinchilla's
 *   own intervals this way). Exponents' intervals are not judged: at tab scale they are wide in
 *   usable fits too (the README's markov sweep: α from 0.019 to 2.5, with E within 0.6% of the
 *   true floor), and a fit that cannot pin them has its point estimate at a bound;
 * - points still on the initial plateau: losses at or above the unigram level carry no scaling,
 *   since the models have not yet learnt anything a larger model learns better.
 *
 * A fit that is not identifiable is drawn as points only: no law, prediction, compute-optimal
 * allocation or extrapolation comes from it.
 */
import type { ChinchillaLaw } from './scaling.ts';
import type { Interval } from './fit.ts';

export interface Identifiability {
  identifiable: boolean;
  reasons: string[]; // empty when identifiable
}

/** An exponent below this is "no dependence". */
export const MIN_EXPONENT = 0.02;
/** An exponent above this is no power law. */
export const MAX_EXPONENT = 5;
/** E below this share of the smallest loss is E at its bound, 0. */
export const E_FLOOR_SHARE = 0.01;
/**
 * A coefficient's bootstrap interval wider than this factor does not pin it. Usable fits at tab
 * scale have wide ones: the README's markov sweep, whose models sit near the entropy floor, fits
 * E within 0.6% of the true floor with A's interval spanning 9 orders of magnitude; a sweep still
 * on the plateau spans 14 and 66.
 */
export const MAX_COEFFICIENT_SPAN = 1e12;

export interface IdentifyOptions {
  intervals?: Pick<Record<keyof ChinchillaLaw, Interval>, 'A' | 'B'> | null; // bootstrap intervals, when measured
  plateau?: number | null; // the unigram loss of the corpus (nats/char), when known
}

const NAMES: Record<keyof ChinchillaLaw, string> = { E: 'E', A: 'A', B: 'B', alpha: 'α', beta: 'β' };

function fmt(x: number): string {
  return Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(1) : String(Number(x.toPrecision(3)));
}

/** The reasons a fit of L(N, D) to `points` cannot be trusted as a law, if any. */
export function identifyChinchilla(
  points: readonly { N: number; D: number; loss: number }[],
  law: ChinchillaLaw,
  opts: IdentifyOptions = {},
): Identifiability {
  const reasons: string[] = [];
  const distinctN = new Set(points.map((p) => p.N)).size;
  const distinctD = new Set(points.map((p) => p.D)).size;
  if (distinctN < 3) reasons.push(`only ${distinctN} distinct model size${distinctN === 1 ? '' : 's'} (N): A and α need 3 or more`);
  if (distinctD < 3) reasons.push(`only ${distinctD} distinct token count${distinctD === 1 ? '' : 's'} (D): B and β need 3 or more`);
  const bad = (Object.keys(NAMES) as (keyof ChinchillaLaw)[]).filter((k) => !(Number.isFinite(law[k]) && law[k] > 0));
  if (bad.length) reasons.push(`${bad.map((k) => NAMES[k]).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not a finite positive number`);
  const minLoss = Math.min(...points.map((p) => p.loss));
  if (Number.isFinite(law.E) && law.E > 0 && law.E < E_FLOOR_SHARE * minLoss)
    reasons.push(`E → 0 (E = ${fmt(law.E)}): the points show no floor, so the law would fall without limit`);
  for (const k of ['alpha', 'beta'] as const) {
    const x = law[k];
    if (!(Number.isFinite(x) && x > 0)) continue;
    if (x < MIN_EXPONENT)
      reasons.push(`${NAMES[k]} → 0 (${NAMES[k]} = ${fmt(x)}): the loss hardly depends on ${k === 'alpha' ? 'N' : 'D'} in these points`);
    if (x > MAX_EXPONENT) reasons.push(`${NAMES[k]} = ${fmt(x)}: no power law is that steep`);
  }
  // A term that changes the loss by less than 0.1% of it across the points: no dependence was measured.
  if (bad.length === 0) {
    const span = (xs: number[], c: number, e: number) => c * (Math.min(...xs) ** -e - Math.max(...xs) ** -e);
    const ns = points.map((p) => p.N);
    const ds = points.map((p) => p.D);
    if (distinctN >= 2 && span(ns, law.A, law.alpha) < 1e-3 * minLoss)
      reasons.push(
        `the fitted A/N^α changes the loss by ${fmt(span(ns, law.A, law.alpha))} across these sizes: the points show no dependence on N`,
      );
    if (distinctD >= 2 && span(ds, law.B, law.beta) < 1e-3 * minLoss)
      reasons.push(
        `the fitted B/D^β changes the loss by ${fmt(span(ds, law.B, law.beta))} across these token counts: the points show no dependence on D`,
      );
  }
  const iv = opts.intervals;
  if (iv) {
    // A parameter already found not finite has no interval worth reading.
    for (const k of (['A', 'B'] as const).filter((k) => !bad.includes(k))) {
      const [lo, hi] = iv[k];
      if (!(lo > 0) || !(hi / lo <= MAX_COEFFICIENT_SPAN))
        reasons.push(
          `${k}'s bootstrap interval [${fmt(lo)}, ${fmt(hi)}] spans ${lo > 0 && Number.isFinite(hi / lo) ? `${Math.round(Math.log10(hi / lo))} orders of magnitude` : 'everything'}: the points do not pin it`,
        );
    }
  }
  const plateau = opts.plateau;
  if (plateau != null && plateau > 0) {
    const above = points.filter((p) => p.loss >= plateau);
    const below = points.filter((p) => p.loss < plateau);
    const belowN = new Set(below.map((p) => p.N)).size;
    if (above.length > 0 && (below.length < 5 || belowN < 3))
      reasons.push(
        `${above.length} of ${points.length} points are at or above the unigram level (${fmt(plateau)} nats/char), still on the initial plateau; below it only ${below.length} point${below.length === 1 ? '' : 's'} from ${belowN} size${belowN === 1 ? '' : 's'} remain`,
      );
  }
  return { identifiable: reasons.length === 0, reasons };
}
