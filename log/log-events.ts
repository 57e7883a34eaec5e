/**
 * What a `Log` tells its owner as it works, for the owner's logs and metrics: log/ has no logger
 * and no metrics library of its own (it imports nothing), so it reports through this small sink,
 * given to `Log.open` in `LogOptions.events`.
 *
 * Every callback is optional, called synchronously on the log's one thread, and must not throw
 * (nor do I/O that the log would wait for). They are rare or cheap: a roll happens once per
 * segment; `flushed` once per group-commit fsync round, never per append.
 */
import type { Offset } from './units.js';

export interface SegmentRoll {
  /** The new active segment's base offset. */
  readonly baseOffset: Offset;
  /** The segment that was active until now (sealed in the background from here on). */
  readonly previousBaseOffset: Offset;
  readonly previousSizeBytes: number;
}

export interface LogEvents {
  /** A new active segment started (size or age reached, or retention rolled it to delete the rest). */
  segmentRolled?(roll: SegmentRoll): void;
  /** One round of the group-commit loop fsynced the log (data, indexes, directory) in `durationMs`. */
  flushed?(durationMs: number): void;
}
