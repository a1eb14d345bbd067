/** Saving a file from the page: the one way every panel offers a download. */

/**
 * Hands `blob` to the browser as a download named `fileName`. The object URL is revoked after
 * 10 s, not at once: the download takes its own reference by then, and revoking sooner can cancel
 * a large one in some browsers.
 */
export function downloadBlob(blob: Blob, fileName: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
