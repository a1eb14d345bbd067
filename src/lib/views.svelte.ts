/** Which view the page shows, kept equal to the address's fragment (views.ts) both ways. */
import { parseView, type ViewId } from './views.ts';

export class ViewState {
  current = $state<ViewId>('train');

  constructor(private readonly win: Window) {
    this.current = parseView(win.location.hash);
  }

  /** Follows the fragment (a link, Back, an edited address); returns the unsubscribe. */
  watch(): () => void {
    const follow = () => {
      const next = parseView(this.win.location.hash);
      if (next === this.current) return;
      this.current = next;
      this.win.scrollTo(0, 0); // a view opens at its top, not where the last one was scrolled
    };
    this.win.addEventListener('hashchange', follow);
    return () => this.win.removeEventListener('hashchange', follow);
  }
}
