import { expect, test } from 'vitest';
import { parseView, views } from '../../src/lib/views.ts';

test('the fragment names the view: every view opens from its own, anything else is Train', () => {
  for (const v of views) expect(parseView(`#${v.id}`)).toBe(v.id);
  expect(parseView('lab')).toBe('lab');
  expect(parseView('')).toBe('train');
  expect(parseView('#')).toBe('train');
  expect(parseView('#Lab')).toBe('train'); // fragments are exact
  expect(parseView('#constructor')).toBe('train'); // not a property of some object
  expect(new Set(views.map((v) => v.id)).size).toBe(views.length);
});
