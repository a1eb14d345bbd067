/**
 * One line for each word a learner may not know, written for someone who has read the textbook
 * chapter, not the paper. Shown in place by Term.svelte, on hover and on tap.
 */
export const GLOSSARY = {
  nats: 'Loss measured with the natural log: the average surprise per character. ln 2 ≈ 0.693 nats make one bit.',
  bits: 'Loss measured with log base 2: how many yes/no questions, on average, the next character still costs.',
  entropy:
    "A head's attention entropy: how spread its weights are. 0 means it looks at one character; ln of the context means it looks at all evenly.",
  induction:
    'Induction score: in the probe, how much a head attends to the character right after the earlier copy of the current one. A high score is the mechanism that copies from context.',
  chance:
    "Chance is ln of the number of characters the probe draws from: the loss of guessing uniformly among them. A model that has learned the corpus's letter frequencies can pay more than chance on random letters.",
  bSimple:
    'The gradient noise scale B_simple = tr Σ / |G|²: the batch size at which the noise in a minibatch gradient about equals its signal. Below it, a bigger batch helps almost linearly.',
  bCrit: "Kaplan et al.'s critical batch: the batch past which more examples per step buy little, predicted from the loss alone.",
  params:
    'N: the number of weights the optimizer trains, the token and position embeddings included (the output head shares the token embedding).',
  nonEmbedding:
    'Non-embedding parameters: every weight except the token and position embeddings. Scaling laws count these, because embeddings grow with the vocabulary, not with the model’s capacity.',
  forecastQuarter:
    "What this run's chart forecast for its final val loss from its first quarter of steps, with its 90% band, against the val loss it reached: the honest test of a forecast is the runs it was made for.",
} as const;

export type GlossaryTerm = keyof typeof GLOSSARY;
