import { InfluxWriteError } from './influx-write-error.js';

export interface BatcherSettings {
  /** A write carries at most this many lines (`influxdbConfig.maxBatchSize`). */
  maxPoints: number;
  /** A partly filled batch is written after this long. */
  flushIntervalMs: number;
  /** Batches written at the same time. */
  parallelWrites: number;
  write(lines: string[]): Promise<void>;
  /** Called once per batch written (for metrics). */
  onBatch?(outcome: { lines: number; entries: number; durationMs: number; error?: InfluxWriteError }): void;
}

export interface RejectedEntry {
  /** InfluxDB's message for the lines of this entry alone. */
  message: string;
  partial: boolean;
  dropped: number | undefined;
}

export interface PointBatcher {
  /**
   * Queues the lines of one job, in one or more groups; resolves when InfluxDB acknowledged all of them,
   * rejects with InfluxWriteError otherwise. Lines of many jobs share one write. When InfluxDB rejects a
   * write, each group is written again on its own: InfluxDB 1.x may drop a whole write for one bad point
   * (max-values-per-tag), and one group's rejected points must not take another group's with them.
   */
  add(...groups: string[][]): Promise<void>;
  /** Writes what is queued now and waits for every write in flight. */
  flush(): Promise<void>;
  /** Lines queued but not yet written. */
  readonly pending: number;
}

interface Entry {
  /** Pieces of this entry not yet acknowledged. */
  remaining: number;
  failed: boolean;
  resolve(): void;
  reject(error: InfluxWriteError): void;
}

interface Piece {
  entry: Entry;
  lines: string[];
}

/**
 * Batches the points of many jobs into one write, and keeps each job's outcome its own: when InfluxDB
 * rejects a batch (400), every job of it is written again alone, so one bad result fails only its own
 * job and the others complete. A job bigger than a batch is split over several writes.
 */
export function createPointBatcher(settings: BatcherSettings): PointBatcher {
  const queued: Piece[] = [];
  let queuedLines = 0;
  let timer: NodeJS.Timeout | undefined;
  let inFlight = 0;
  const idle: Array<() => void> = [];

  const settle = (piece: Piece, error?: InfluxWriteError) => {
    const entry = piece.entry;
    if (entry.failed) return;
    if (error) {
      entry.failed = true;
      entry.reject(error);
      return;
    }
    entry.remaining--;
    if (entry.remaining === 0) entry.resolve();
  };

  const timed = async (lines: string[], entries: number) => {
    const started = performance.now();
    try {
      await settings.write(lines);
      settings.onBatch?.({ lines: lines.length, entries, durationMs: performance.now() - started });
    } catch (error) {
      const failure =
        error instanceof InfluxWriteError
          ? error
          : new InfluxWriteError('unavailable', (error as Error).message);
      settings.onBatch?.({
        lines: lines.length,
        entries,
        durationMs: performance.now() - started,
        error: failure,
      });
      throw failure;
    }
  };

  const writeBatch = async (pieces: Piece[]) => {
    const lines = pieces.flatMap((p) => p.lines);
    const entries = new Set(pieces.map((p) => p.entry)).size;
    try {
      await timed(lines, entries);
      for (const piece of pieces) settle(piece);
    } catch (error) {
      const failure = error as InfluxWriteError;
      if (failure.kind === 'rejected' && pieces.length > 1) {
        // Find out which job InfluxDB objects to: write each piece alone. Points that were accepted are
        // written again with the same timestamp, which leaves the same data.
        for (const piece of pieces) {
          try {
            await timed(piece.lines, 1);
            settle(piece);
          } catch (own) {
            settle(piece, own as InfluxWriteError);
          }
        }
      } else {
        for (const piece of pieces) settle(piece, failure);
      }
    }
  };

  /**
   * Starts writes while there is a free slot and something worth writing: a full batch, or anything
   * once the flush interval has passed since the oldest queued line.
   */
  let due = false;
  const pump = () => {
    while (
      inFlight < settings.parallelWrites &&
      queued.length > 0 &&
      (due || queuedLines >= settings.maxPoints)
    ) {
      const batch: Piece[] = [];
      let count = 0;
      while (queued.length > 0 && count + queued[0]!.lines.length <= settings.maxPoints) {
        const piece = queued.shift()!;
        batch.push(piece);
        count += piece.lines.length;
      }
      queuedLines -= count;
      inFlight++;
      void writeBatch(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
    if (queued.length === 0) {
      due = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (inFlight === 0) for (const resolve of idle.splice(0)) resolve();
    } else if (!due && !timer) {
      timer = setTimeout(() => {
        timer = undefined;
        due = true;
        pump();
      }, settings.flushIntervalMs);
    }
  };

  return {
    add(...groups) {
      if (groups.every((g) => g.length === 0)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const entry: Entry = { remaining: 0, failed: false, resolve, reject };
        for (const group of groups) {
          for (let i = 0; i < group.length; i += settings.maxPoints) {
            const slice = group.slice(i, i + settings.maxPoints);
            queued.push({ entry, lines: slice });
            queuedLines += slice.length;
            entry.remaining++;
          }
        }
        pump();
      });
    },
    async flush() {
      if (queued.length === 0 && inFlight === 0) return;
      due = true;
      const drained = new Promise<void>((resolve) => idle.push(resolve));
      pump();
      await drained;
    },
    get pending() {
      return queuedLines;
    },
  };
}
