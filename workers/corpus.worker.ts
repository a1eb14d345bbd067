/**
 * Reads a user's text file off the main thread: decoding and counting 100 MB of text takes
 * seconds, and the page must not freeze for them. One file per worker; the page ends it after
 * the reply.
 */
import { errorMessage } from '../src/core/errors.ts';
import { corpusStats, decodeCorpus } from '../src/core/text.ts';
import type { CorpusReply, CorpusRequest } from './protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = async (e: MessageEvent<CorpusRequest>) => {
  const { file } = e.data;
  let reply: CorpusReply;
  try {
    const text = decodeCorpus(new Uint8Array(await file.arrayBuffer()), file.name);
    reply = { ok: true, text, ...corpusStats(text) };
  } catch (err) {
    reply = { ok: false, message: errorMessage(err) };
  }
  scope.postMessage(reply);
};
