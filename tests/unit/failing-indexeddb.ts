/** An IndexedDB whose every readwrite transaction aborts with `error`, the way a full disk makes writes fail. */
export function failingIndexedDB(error: DOMException) {
  const db = {
    transaction() {
      const tx = {
        error,
        oncomplete: null as (() => void) | null,
        onerror: null as (() => void) | null,
        onabort: null as (() => void) | null,
        objectStore: () => ({ put() {}, delete() {}, getAll() {} }),
      };
      setTimeout(() => tx.onabort?.());
      return tx;
    },
  };
  return {
    open() {
      const req = { result: db, onsuccess: null as (() => void) | null, onupgradeneeded: null, onerror: null, onblocked: null };
      setTimeout(() => req.onsuccess?.());
      return req;
    },
  };
}
