/**
 * A run as `train` logs it (JSON Lines: a start line with the run's whole config, then step, eval
 * and summary lines), read back for the forecast and the backtest. Lines of other kinds (saved,
 * noise, probe) are skipped; a line that is not JSON is an error naming its number.
 */
import { validateTrainConfig, type ModelConfig, type TrainConfig } from './config.ts';
import type { CurvePoint, RunCurve } from './forecast.ts';

export interface RunLog extends RunCurve {
  model: ModelConfig;
  train: TrainConfig;
  corpus: string;
  firstStep: number; // the first step logged (a resumed run's log starts where it resumed)
  lastStep: number; // the last step logged
  finalVal: number | null; // the val loss of an evaluation at the planned last step, if the run got there
}

export class RunLogError extends Error {}

/**
 * Reads a `train` log. A resumed run's log (its start line's step above 0) may follow the log it
 * continues, as `train … >> run.jsonl` leaves it: its config (its planned steps may have grown)
 * replaces the earlier one. A last line cut short (a log still being written) is left out.
 */
export function parseRunLog(text: string, name = 'the log'): RunLog {
  let start: { model: ModelConfig; train: TrainConfig; corpus: string; floor: number | null } | null = null;
  const steps: CurvePoint[] = [];
  const evals: CurvePoint[] = [];
  const lines = text.replace(/^\ufeff/, '').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      if (i === lines.length - 1) return; // still being written
      throw new RunLogError(`${name}, line ${i + 1}: not JSON (a log is what \`train\` prints, one JSON object a line)`);
    }
    if (e === null || typeof e !== 'object') throw new RunLogError(`${name}, line ${i + 1}: not a JSON object`);
    const num = (k: string) => {
      const v = e[k];
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new RunLogError(`${name}, line ${i + 1}: ${String(e.type)} line without a finite "${k}"`);
      return v;
    };
    switch (e.type) {
      case 'start': {
        if ('models' in e)
          throw new RunLogError(`${name}, line ${i + 1}: a sweep's log, not a run's (forecast reads what \`train\` prints)`);
        const train = e.train as TrainConfig | undefined;
        const model = e.model as ModelConfig | undefined;
        if (!train || typeof train !== 'object' || !model || typeof model !== 'object')
          throw new RunLogError(
            `${name}, line ${i + 1}: the start line has no run config ("model" and "train"): logs from before this version cannot be forecast`,
          );
        const issues = validateTrainConfig(train);
        if (issues.length)
          throw new RunLogError(
            `${name}, line ${i + 1}: the start line's config is not a run's: ${issues.map((x) => x.message).join('; ')}`,
          );
        if (start && !(typeof e.step === 'number' && e.step > 0))
          throw new RunLogError(`${name}, line ${i + 1}: a second run starts here (one log holds one run and the runs resumed from it)`);
        const refs = Array.isArray(e.references) ? (e.references as { kind?: unknown; nats?: unknown }[]) : [];
        const floor = refs.find((r) => r?.kind === 'floor' && typeof r.nats === 'number' && r.nats > 0)?.nats as number | undefined;
        start = { model, train, corpus: typeof e.corpus === 'string' ? e.corpus : '', floor: floor ?? null };
        break;
      }
      case 'step':
        steps.push({ step: num('step'), loss: num('loss') });
        break;
      case 'eval':
        evals.push({ step: num('step'), loss: num('val') });
        break;
      default:
        break;
    }
  });
  if (!start) throw new RunLogError(`${name}: no start line (is it a log of \`train\`?)`);
  const s: { model: ModelConfig; train: TrainConfig; corpus: string; floor: number | null } = start;
  const lastStep = Math.max(steps.at(-1)?.step ?? 0, evals.at(-1)?.step ?? 0);
  const firstStep = Math.min(steps[0]?.step ?? Infinity, evals[0]?.step ?? Infinity);
  const end = evals.find((e) => e.step === s.train.maxSteps);
  return {
    ...s,
    schedule: s.train,
    steps,
    evals,
    firstStep: Number.isFinite(firstStep) ? firstStep : 0,
    lastStep,
    finalVal: end ? end.loss : null,
  };
}
