/** The explanations shown in place: one line each, and every term the page marks has one. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test } from 'vitest';
import { GLOSSARY } from '../../src/lib/glossary.ts';

test('each explanation is one line a tooltip can hold', () => {
  for (const [term, line] of Object.entries(GLOSSARY)) {
    expect(line, term).not.toMatch(/\n/);
    expect(line.length, term).toBeGreaterThan(40);
    expect(line.length, term).toBeLessThanOrEqual(240);
  }
});

test('every term the components mark is explained, and every explanation is used', () => {
  const dir = resolve(import.meta.dirname, '../../src/components');
  const used = new Set<string>();
  for (const f of readdirSync(dir)) {
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/<Term\s+term="([A-Za-z]+)"/g)) used.add(m[1]);
  }
  expect([...used].sort()).toEqual(Object.keys(GLOSSARY).sort());
});
