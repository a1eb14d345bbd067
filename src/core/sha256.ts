/**
 * Hex SHA-256 of a text's UTF-8 bytes: how a checkpoint names the corpus it trained on, so that a
 * resume or an export finds the same text. WebCrypto, which the page, the worker and Node all have.
 */
export async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
