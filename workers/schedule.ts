/** Scheduling helpers for long loops that must stay responsive. */

const g = globalThis as { setImmediate?: (cb: () => void) => unknown };

/**
 * Resolves after pending events (worker messages, I/O) have had their turn. A resolved
 * promise would not do: microtasks run before messages. setTimeout(0) is clamped to 4 ms in
 * browsers, so a MessageChannel gives the macrotask there; Node has setImmediate.
 */
export function yieldToEventLoop(): Promise<void> {
  if (g.setImmediate) return new Promise((resolve) => g.setImmediate!(resolve));
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.addEventListener('message', () => {
      port1.close();
      resolve();
    });
    port1.start(); // addEventListener, unlike onmessage, does not start the port by itself
    port2.postMessage(null);
  });
}
