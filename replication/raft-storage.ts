/**
 * What the Raft core needs from durable storage, split as etcd splits it: a synchronous read side the
 * core consults while it steps (terms at offsets, entries to send, the hard state and snapshot to
 * start from), and a write side only the driver calls, with what a `Ready` asks it to persist.
 *
 * Over Strata's partition log (`log-storage.ts`): `append` is `Log.truncateTo(entries[0].baseOffset)`
 * when it overwrites a tail, then `Log.appendAsFollower(batches)`; `termAt` is the leader-epoch cache
 * (one entry per term, so it stays small); `applySnapshot` is `Log.resetTo` (a far-behind follower
 * restarts at its leader's log start); `sync` waits for those writes (plus `Log.flush()` under the
 * `always` flush policy) and the hard-state file's fsync when the term or vote changed.
 *
 * Contract:
 * - offsets `[startOffset(), endOffset())` are held, as whole entries; `termAt(startOffset() - 1)` is
 *   the snapshot's term (the term of the entry just below the log start);
 * - reads see every write already called, synced or not (`endOffset()` moves with `append` at once);
 * - `entryBase(offset)` is an entry boundary at or below `offset`, not below the start of its term
 *   (exact for an in-memory log; a log keeping only its tail in memory answers the term's start below
 *   it, which is always a boundary);
 * - `entries(from, ...)` may answer `[]` for entries that exist but are not in memory ("not loaded
 *   yet"): the storage then reads them and tells its owner, who calls `RaftNode.entriesLoaded()`;
 * - `append(entries)` first drops every entry at or above `entries[0].baseOffset`, which must be an
 *   entry boundary at or below `endOffset()`; it may write to a volatile buffer;
 * - nothing written is durable until `sync()` completes: a crash before that may lose any of it, but
 *   never what an earlier `sync()` made durable (a crash keeps a state some `sync()` saw), except that
 *   a storage may keep the high watermark lazily (it restarts from an older value, never above what is
 *   durable; the core takes `max(highWatermark, startOffset)`);
 * - a write that cannot be done (disk full) throws; the node must stop, as a broker would.
 */
import type { Epoch, Offset } from '../log/index.js';
import type { Entry, HardState, RaftSnapshot } from './entry.js';

export interface RaftLogReader<P> {
  /** First offset held: the log start offset. */
  startOffset(): Offset;
  /** One past the last offset held: the log end offset. */
  endOffset(): Offset;
  /** The term of the entry holding `offset`, the snapshot's term at `startOffset() - 1`, else undefined. */
  termAt(offset: Offset): Epoch | undefined;
  /**
   * An entry boundary at or below `offset` (in `[startOffset(), endOffset())`), not below the start of
   * `offset`'s term: the base of the entry holding it, or the start of its term.
   */
  entryBase(offset: Offset): Offset;
  /**
   * Whole entries from the one beginning at `from`, below `end`, up to `maxBytes` (at least one), or
   * none when they are not in memory yet (the storage reads them and calls its owner back).
   */
  entries(from: Offset, end: Offset, maxBytes: number): Entry<P>[];
  /** The image of everything below the log start (for a partition: no data). */
  snapshot(): RaftSnapshot;
  hardState(): HardState;
}

export interface RaftStorage<P> extends RaftLogReader<P> {
  append(entries: readonly Entry<P>[]): void | Promise<void>;
  setHardState(state: HardState): void | Promise<void>;
  /** Drops the whole log; it restarts empty at `snapshot.lastOffset + 1`. */
  applySnapshot(snapshot: RaftSnapshot): void | Promise<void>;
  /** Makes every write so far durable. */
  sync(): void | Promise<void>;
}
