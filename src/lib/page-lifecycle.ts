/**
 * A run and the page's life: what happens when the tab is hidden, shown again, or left. A closed
 * or reloaded tab must lose no more than the steps since the last save.
 */
import type { RunState } from './run.svelte.ts';

/**
 * Saves the run when the document is hidden (a switched or closed tab, a phone's home button:
 * the last moment a page can count on), and pauses it there if run.pauseWhenHidden; resumes when
 * it shows again, if the pause was ours. Returns the listener's remover.
 */
export function watchVisibility(run: RunState, doc: Document): () => void {
  let pausedForHidden = false; // the pause was ours, not the user's: showing the tab resumes
  const onChange = () => {
    if (doc.visibilityState === 'hidden') {
      if (run.unsavedSteps > 0) {
        run.checkpoints.persistShadow(); // written at once, in case the page is being left
        void run.checkpoints.autosave(); // the run as it stands, if the page stays long enough
      }
      if (run.pauseWhenHidden && run.status === 'training') {
        pausedForHidden = true;
        void run.pause(); // the worker answers 'paused' between two steps
      }
    } else if (pausedForHidden) {
      pausedForHidden = false;
      if (run.status === 'paused') run.resume();
    }
  };
  doc.addEventListener('visibilitychange', onChange);
  return () => doc.removeEventListener('visibilitychange', onChange);
}

/**
 * Asks before the page is left (a reload, a closed tab) while the run has steps no save holds:
 * the browser's own "leave site?" dialog, which also gives the save that hiding started time to
 * land. Returns the listener's remover.
 */
export function watchUnload(run: RunState, win: Window): () => void {
  const onBeforeUnload = (e: BeforeUnloadEvent) => {
    if (run.unsavedSteps === 0) return;
    run.checkpoints.persistShadow();
    void run.checkpoints.autosave();
    e.preventDefault();
    e.returnValue = ''; // what older browsers need to show the dialog
  };
  win.addEventListener('beforeunload', onBeforeUnload);
  return () => win.removeEventListener('beforeunload', onBeforeUnload);
}
