/**
 * `memo`: a memo trap, an inverse-scaling candidate (McKenzie et al. 2023, "Inverse Scaling: When
 * Bigger Isn't Better", the memo-trap task). The training text holds a few "sayings", fixed phrases
 * of made-up words repeated many times (`say: dab cef gid hob`), and lines where an instruction
 * names the last word and the line ends with it whatever came before:
 *   end with kof: bag ded fim kof
 * Those lines' earlier words are random, so copying the named word is the only way to predict the
 * end. A held-out problem asks for a saying's words with another last word:
 *   end with kof: dab cef gid        → kof (the saying ends with hob)
 * The language-model objective pulls toward the memorised ending, the instruction toward the named
 * one: a model that memorises the sayings better (larger, or trained longer) may do this worse.
 */
import { Rng } from './rng.ts';
import { checkWhole, shotsOf, type Problem } from './task-problem.ts';

export type MemoParams = {
  sayings: number; // how many fixed phrases
  words: number; // words per saying (the last is the one the trap replaces), 2..8
  share: number; // percent of training lines that are sayings (the rest are end-with lines)
  lines: number; // training lines
  heldout: number; // held-out problems
  shots: number; // solved end-with lines before each held-out problem
  seed: number;
};

export const defaultMemoParams: MemoParams = { sayings: 20, words: 4, share: 50, lines: 60_000, heldout: 100, shots: 2, seed: 1 };
export const MEMO_KEYS = ['sayings', 'words', 'share', 'lines', 'heldout', 'shots', 'seed'] as const;

const CONSONANTS = 'bcdfghjklmnprstvz';
const VOWELS = 'aeiou';

export function memoTask(p: MemoParams): { text: string; problems: Problem[]; note: string } {
  const count = checkWhole('memo', 'sayings', p.sayings, 1, 1000);
  const wordsPer = checkWhole('memo', 'words', p.words, 2, 8);
  const share = checkWhole('memo', 'share', p.share, 1, 99);
  const lines = checkWhole('memo', 'lines', p.lines, 1, 5_000_000);
  const heldout = checkWhole('memo', 'heldout', p.heldout, 1, 10_000);
  const shots = checkWhole('memo', 'shots', p.shots, 0, 16);
  const rng = new Rng(checkWhole('memo', 'seed', p.seed, 0, 0xffffffff));
  // Made-up words: consonant-vowel-consonant, 17·5·17 = 1,445 of them.
  const word = () => CONSONANTS[rng.int(CONSONANTS.length)] + VOWELS[rng.int(VOWELS.length)] + CONSONANTS[rng.int(CONSONANTS.length)];
  const sayings = Array.from({ length: count }, () => Array.from({ length: wordsPer }, word));
  const endWith = (w: string, before: string[]) => `end with ${w}: ${[...before, w].join(' ')}`;
  const out: string[] = [];
  const trapKeys = new Set<string>(); // a held-out problem's line, which training must not hold
  const problems: Problem[] = [];
  const trapLines: { saying: string[]; w: string }[] = [];
  while (trapLines.length < heldout) {
    const saying = sayings[rng.int(count)];
    let w = word();
    while (w === saying.at(-1)) w = word();
    const key = endWith(w, saying.slice(0, -1));
    if (trapKeys.has(key)) continue;
    trapKeys.add(key);
    trapLines.push({ saying, w });
  }
  const shown: string[] = [];
  while (out.length < lines) {
    if (rng.int(100) < share) {
      out.push(`say: ${sayings[rng.int(count)].join(' ')}`);
      continue;
    }
    const line = endWith(word(), Array.from({ length: wordsPer - 1 }, word));
    if (trapKeys.has(line)) continue; // a random line that happens to be a held-out one
    out.push(line);
    if (shown.length < 4096) shown.push(line);
  }
  trapLines.forEach(({ saying, w }, i) => {
    const from = shown.length > shots ? (i * shots) % (shown.length - shots) : 0;
    problems.push({
      prompt: `${shotsOf(shown.slice(from), shots)}end with ${w}: ${saying.slice(0, -1).join(' ')} `,
      answer: w,
      trap: saying.at(-1)!,
    });
  });
  const note = `${count} sayings of ${wordsPer} made-up words, asked to end with another word: the memorised ending is the wrong answer`;
  return { text: `${out.join('\n')}\n`, problems, note };
}
