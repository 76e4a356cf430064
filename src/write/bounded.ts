// Work over many items with a bounded number in flight: writes of many small objects (a
// catalog's final manifests) must not start all at once. Against a slow store a burst queues
// behind the HTTP client's sockets, and a request that waits there longer than the connection
// timeout fails, on every retry alike (issue 10.4: 3,000 manifests at 250 ms per PUT).

/** Writes of small objects in flight at once: half of the client's sockets (storage/http.ts MAX_SOCKETS). */
export const SMALL_WRITES_AT_ONCE = 32;

/**
 * Runs `work` for every item, at most `limit` at once, in order of the items. Stops starting new
 * items after the first failure, waits for those running, then rejects with that failure.
 */
export async function forEachBounded<T>(items: Iterable<T>, limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    for (let next = iterator.next(); !next.done && !failure; next = iterator.next()) {
      try {
        await work(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (failure) throw failure.error;
}
