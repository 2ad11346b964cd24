/**
 * Waits until `condition` holds, checking after each turn of the event loop's timers; fails naming
 * `what` after `timeoutMs`. For state that third-party clients change from their own threads,
 * where there is no single event to await.
 */
export async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
