/**
 * The page's views, one per job a user comes for, named in the address's fragment (`#lab`) so a
 * link opens one; the setup stays in the query string (url-state.ts), so `?layers=4#inside` opens
 * that setup on the Inside view. Parsing never throws: an unknown fragment is the Train view.
 */

export const views = [
  { id: 'train', label: 'Train', title: 'train a model and watch its loss, sample and score it' },
  { id: 'inside', label: 'Inside', title: 'attention, loss by position, the in-context probe, embeddings and the batch size measured' },
  { id: 'lab', label: 'Scaling lab', title: 'sweep model sizes, fit a scaling law and compare it with the published ones' },
  { id: 'runs', label: 'Runs', title: 'every run of this browser: compare, overlay, rename, export' },
  { id: 'data', label: 'Data', title: 'the corpus, its batches, and checkpoints: save, load, export to nanoGPT' },
] as const;

export type ViewId = (typeof views)[number]['id'];

/** The view a fragment names (`#lab`, `lab`), or Train for anything else. */
export function parseView(hash: string): ViewId {
  const id = hash.replace(/^#/, '');
  return views.find((v) => v.id === id)?.id ?? 'train';
}
