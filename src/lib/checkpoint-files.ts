/** Names and labels for checkpoints the page offers: pure, so they are tested outside the browser. */

/** `tabgpt-moby-dick-step400.safetensors`; a file corpus loses its .txt and any character a file name should not hold. */
export function checkpointFileName(corpus: string, step: number): string {
  const slug = corpus
    .replace(/\.txt$/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '');
  return `tabgpt-${slug || 'corpus'}-step${step}.safetensors`;
}

/** "2026-11-23 17:05": a saved run's date, in the visitor's time zone. */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}
