/**
 * `instruct`: string instructions followed on inputs, two formats a line:
 *   reverse: bcad => dacb        (the instruction format, the one held-out problems ask in)
 *   reverse(bcad)=dacb           (the function format)
 * over short words of a small alphabet. Held-out problems are inputs no training line of that
 * instruction used. One instruction (`unseen`, default `upper`) appears in training only in the
 * function format, never as `upper: … => …`: its held-out problems ask whether the model follows
 * an instruction in a format it was never shown for that instruction, having seen the format with
 * the others (instruction following as generalisation, not recall; Wei et al. 2022, "Finetuned
 * Language Models Are Zero-Shot Learners", at tab scale).
 */
import { ALPHABET_POOL } from './markov.ts';
import { Rng } from './rng.ts';
import { checkWhole, shotsOf, type Problem } from './task-problem.ts';

/** The instructions and what each does to a word. */
export const INSTRUCTIONS: Record<string, (w: string) => string> = {
  reverse: (w) => [...w].reverse().join(''),
  sort: (w) => [...w].sort().join(''),
  upper: (w) => w.toUpperCase(),
  repeat: (w) => w + w,
  first: (w) => w[0],
  last: (w) => w[w.length - 1],
};

export type InstructParams = {
  alphabet: number; // letters the words are made of: the first V lower-case letters, 2..26
  min: number; // shortest word
  max: number; // longest word
  unseen: string; // the instruction never shown in the instruction format in training ('none': every one is)
  lines: number; // training lines
  heldout: number; // held-out problems per instruction
  shots: number; // solved lines (other instructions, instruction format) before each held-out problem
  seed: number;
};

export const defaultInstructParams: InstructParams = {
  alphabet: 8,
  min: 3,
  max: 6,
  unseen: 'upper',
  lines: 100_000,
  heldout: 40,
  shots: 2,
  seed: 1,
};
export const INSTRUCT_KEYS = ['alphabet', 'min', 'max', 'unseen', 'lines', 'heldout', 'shots', 'seed'] as const;

export function instructTask(p: InstructParams): { text: string; problems: Problem[]; note: string } {
  const V = checkWhole('instruct', 'alphabet', p.alphabet, 2, 26);
  const min = checkWhole('instruct', 'min', p.min, 1, 32);
  const max = checkWhole('instruct', 'max', p.max, min, 32);
  const lines = checkWhole('instruct', 'lines', p.lines, 1, 5_000_000);
  const heldout = checkWhole('instruct', 'heldout', p.heldout, 1, 10_000);
  const shots = checkWhole('instruct', 'shots', p.shots, 0, 16);
  const names = Object.keys(INSTRUCTIONS);
  if (p.unseen !== 'none' && !names.includes(p.unseen))
    throw new Error(`instruct unseen must be one of ${names.join(', ')} or none, got ${JSON.stringify(p.unseen)}`);
  // Words of min..max letters: enough of them that holding some out leaves most for training.
  let words = 0;
  for (let L = min; L <= max; L++) words += V ** L;
  if (words < 5 * heldout)
    throw new Error(
      `instruct: ${words} possible words are too few to hold out ${heldout} per instruction (widen the alphabet or the lengths)`,
    );
  const rng = new Rng(checkWhole('instruct', 'seed', p.seed, 0, 0xffffffff));
  const letters = ALPHABET_POOL.slice(0, V);
  const word = () => {
    const L = min + rng.int(max - min + 1);
    let w = '';
    for (let i = 0; i < L; i++) w += letters[rng.int(V)];
    return w;
  };
  const held = new Map(names.map((n) => [n, new Set<string>()]));
  for (const n of names) while (held.get(n)!.size < heldout) held.get(n)!.add(word());
  const asInstruction = (n: string, w: string) => `${n}: ${w} =>`;
  const out: string[] = [];
  const shown: string[] = []; // instruction-format lines, for shots
  while (out.length < lines) {
    const n = names[rng.int(names.length)];
    const w = word();
    if (held.get(n)!.has(w)) continue;
    const instructionFormat = n !== p.unseen && rng.int(2) === 0;
    const line = instructionFormat ? `${asInstruction(n, w)} ${INSTRUCTIONS[n](w)}` : `${n}(${w})=${INSTRUCTIONS[n](w)}`;
    out.push(line);
    if (instructionFormat && shown.length < 4096) shown.push(line);
  }
  const problems: Problem[] = [];
  let s = 0;
  for (const n of names)
    for (const w of held.get(n)!) {
      // Shots: instruction-format lines of other instructions, so the format is shown and the answer is not.
      const others = shown.filter((l) => !l.startsWith(`${n}:`));
      const from = others.length > shots ? (s++ * shots) % (others.length - shots) : 0;
      problems.push({ prompt: `${shotsOf(others.slice(from), shots)}${asInstruction(n, w)} `, answer: INSTRUCTIONS[n](w), kind: n });
    }
  const note =
    p.unseen === 'none'
      ? 'string instructions (reverse, sort, upper, repeat, first, last) on words never seen with them'
      : `string instructions on words never seen with them; "${p.unseen}" was never shown as "${p.unseen}: … =>" in training, only as ${p.unseen}(…)=…`;
  return { text: `${out.join('\n')}\n`, problems, note };
}
