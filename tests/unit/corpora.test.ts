import { describe, expect, test } from 'vitest';
import { buildCorpus, corpora, type CorpusName } from '../../datasets/corpora.ts';
import { corpusStats } from '../../src/core/text.ts';

describe.each(Object.keys(corpora) as CorpusName[])('bundled corpus %s', (name) => {
  test('builds from its package to the manifest’s checksum, size and vocabulary', () => {
    const text = buildCorpus(name); // throws on a checksum or version mismatch
    expect(corpusStats(text)).toEqual({ characters: corpora[name].characters, vocabSize: corpora[name].vocabSize });
  });

  test('is a real text of about a megabyte or more', () => {
    expect(corpora[name].characters).toBeGreaterThan(1_000_000);
    expect(corpora[name].licence).toMatch(/public domain/i);
  });
});
