/**
 * Publishes the snapshots of each topic in poll-time order. BullMQ hands jobs that are taken together
 * (after a broker outage, hundreds of one topic) to the processor in no guaranteed order; the sequencer
 * collects a topic's snapshots for `windowMs`, then runs them oldest first, one at a time. A snapshot that
 * arrives after a newer one of its topic was published is left to the caller's "newer one out?" check.
 */
export function createTopicSequencer(windowMs: number) {
  interface Pending {
    polledAt: number;
    run: () => Promise<unknown>;
    resolve: (value: unknown) => void;
    reject: (error: unknown) => void;
  }
  const topics = new Map<string, { pending: Pending[]; draining: boolean }>();

  const drain = async (topic: string) => {
    const state = topics.get(topic);
    if (!state) return;
    state.draining = true;
    while (state.pending.length > 0) {
      const next = state.pending.shift()!;
      try {
        next.resolve(await next.run());
      } catch (error) {
        next.reject(error);
      }
    }
    topics.delete(topic);
  };

  return {
    submit<T>(topic: string, polledAt: number, run: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        let state = topics.get(topic);
        if (!state) {
          state = { pending: [], draining: false };
          topics.set(topic, state);
          setTimeout(() => void drain(topic), windowMs);
        }
        const entry: Pending = { polledAt, run, resolve: resolve as (value: unknown) => void, reject };
        const at = state.pending.findIndex((p) => p.polledAt > polledAt);
        if (at < 0) state.pending.push(entry);
        else state.pending.splice(at, 0, entry);
      });
    },
  };
}
