/** One AdamW update's settings: the Trainer's config and the schedule's learning rate for this step. */
export interface AdamWStep {
  lr: number; // this step's learning rate (the schedule's value)
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number; // decoupled, on parameters whose `decay` is true
  gradClip: number; // global-norm limit; 0: no clipping
  t: number; // updates including this one, from 1: Adam's bias corrections
}
