/**
 * `RaftStorage` in memory, with a disk's failure modes, for tests, the simulation and benchmarks.
 *
 * It keeps two states: the volatile one every write goes to, and the durable one `sync()` copies it
 * to. `crash()` throws away the volatile state: what was written but not synced is lost, exactly as
 * on a disk whose page cache dies with the process. `diskFull` makes every later write throw.
 *
 * Two options, for the simulation, make it answer as loosely as the contract allows, as `LogStorage`
 * does for what it does not hold in memory: `slowReads` answers a read it picks with `[]` ("not in
 * memory yet") and asks for a load, after which the owner calls `RaftNode.entriesLoaded()`;
 * `termStartEntryBase` answers `entryBase` with the first offset of the offset's term.
 *
 * Invariants: entries are contiguous from `startOffset`; the durable state is always one the
 * volatile state has been at some `sync()`; a crash restores exactly that state. To stay cheap the
 * durable log shares its prefix with the volatile one: `common` counts the leading entries both hold.
 */
import { asEpoch, asOffset, type Epoch, type Offset } from '../log/index.js';
import { indexOfEntry, type Entry, type HardState, type RaftSnapshot } from './entry.js';
import { invariant } from './invariant.js';
import type { RaftStorage } from './raft-storage.js';

export class StorageFull extends Error {
  constructor() {
    super('no space left on device');
    this.name = 'StorageFull';
  }
}

interface State<P> {
  entries: Entry<P>[];
  snapshot: RaftSnapshot;
  hardState: HardState;
}

const EMPTY_SNAPSHOT: RaftSnapshot = Object.freeze({ lastOffset: asOffset(-1), lastTerm: asEpoch(0), data: new Uint8Array(0) });
const INITIAL_HARD_STATE: HardState = Object.freeze({ term: asEpoch(0), vote: undefined, highWatermark: asOffset(0) });

export interface MemoryStorageOptions {
  /** `miss(from)` true: `entries(from, ...)` answers `[]` and calls `load()`, whose owner later calls `entriesLoaded()`. */
  readonly slowReads?: { miss(from: Offset): boolean; load(): void };
  /** `entryBase(offset)` answers the first offset of `offset`'s term (an entry boundary, not the nearest). */
  readonly termStartEntryBase?: boolean;
}

export class MemoryStorage<P> implements RaftStorage<P> {
  private volatile: State<P>;
  private durable: State<P>;
  /** Leading entries the volatile and durable logs share. */
  private common = 0;
  diskFull = false;

  constructor(private readonly options: MemoryStorageOptions = {}) {
    this.volatile = { entries: [], snapshot: EMPTY_SNAPSHOT, hardState: INITIAL_HARD_STATE };
    this.durable = { entries: [], snapshot: EMPTY_SNAPSHOT, hardState: INITIAL_HARD_STATE };
  }

  startOffset(): Offset {
    return asOffset(this.volatile.snapshot.lastOffset + 1);
  }

  endOffset(): Offset {
    const last = this.volatile.entries.at(-1);
    return last === undefined ? this.startOffset() : asOffset(last.lastOffset + 1);
  }

  termAt(offset: Offset): Epoch | undefined {
    if (offset === this.volatile.snapshot.lastOffset) return this.volatile.snapshot.lastTerm;
    const i = indexOfEntry(this.volatile.entries, offset);
    return i < 0 ? undefined : (this.volatile.entries[i] as Entry<P>).term;
  }

  entryBase(offset: Offset): Offset {
    const i = indexOfEntry(this.volatile.entries, offset);
    invariant(i >= 0, () => `no entry holds offset ${offset}`);
    if (this.options.termStartEntryBase === true) return this.termStart(i);
    return (this.volatile.entries[i] as Entry<P>).baseOffset;
  }

  entries(from: Offset, end: Offset, maxBytes: number): Entry<P>[] {
    const entries = this.volatile.entries;
    let i = indexOfEntry(entries, from);
    invariant(i >= 0 && (entries[i] as Entry<P>).baseOffset === from, () => `entries from ${from}: not an entry boundary`);
    const slow = this.options.slowReads;
    if (slow !== undefined && slow.miss(from)) {
      slow.load();
      return [];
    }
    const out: Entry<P>[] = [];
    let bytes = 0;
    for (; i < entries.length; i++) {
      const entry = entries[i] as Entry<P>;
      if (entry.baseOffset >= end || (out.length > 0 && bytes + entry.sizeBytes > maxBytes)) break;
      out.push(entry);
      bytes += entry.sizeBytes;
    }
    return out;
  }

  snapshot(): RaftSnapshot {
    return this.volatile.snapshot;
  }

  hardState(): HardState {
    return this.volatile.hardState;
  }

  /** The durable log, for a checker to compare with others (do not mutate). */
  durableEntries(): readonly Entry<P>[] {
    return this.durable.entries;
  }

  durableSnapshot(): RaftSnapshot {
    return this.durable.snapshot;
  }

  durableHardState(): HardState {
    return this.durable.hardState;
  }

  append(entries: readonly Entry<P>[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (this.diskFull) throw new StorageFull();
    const log = this.volatile.entries;
    const end = this.endOffset();
    invariant(first.baseOffset <= end && first.baseOffset >= this.startOffset(), () => `append at ${first.baseOffset} outside [${this.startOffset()}, ${end}]`);
    if (first.baseOffset < end) {
      const i = indexOfEntry(log, first.baseOffset);
      invariant(i >= 0 && (log[i] as Entry<P>).baseOffset === first.baseOffset, () => `append at ${first.baseOffset}: not an entry boundary`);
      log.length = i;
      this.common = Math.min(this.common, i);
    }
    for (const entry of entries) log.push(entry);
  }

  setHardState(state: HardState): void {
    if (this.diskFull) throw new StorageFull();
    this.volatile.hardState = state;
  }

  applySnapshot(snapshot: RaftSnapshot): void {
    if (this.diskFull) throw new StorageFull();
    this.volatile.snapshot = snapshot;
    this.volatile.entries = [];
    // The durable side changes at the next sync; until then a crash keeps the old durable state.
    this.common = 0;
  }

  /**
   * Drops the entries below `offset` (retention, or a metadata snapshot taken at `offset - 1`). Done
   * on both states at once, as deleting whole old segments is.
   */
  compact(offset: Offset, data: Uint8Array = new Uint8Array(0)): void {
    for (const state of [this.volatile, this.durable]) {
      const i = indexOfEntry(state.entries, asOffset(offset - 1));
      if (i < 0 || (state.entries[i] as Entry<P>).lastOffset !== offset - 1) continue;
      const last = state.entries[i] as Entry<P>;
      state.snapshot = { lastOffset: last.lastOffset, lastTerm: last.term, data };
      state.entries = state.entries.slice(i + 1);
    }
    this.resync();
  }

  sync(): void {
    const durable = this.durable.entries;
    const volatile = this.volatile.entries;
    durable.length = Math.min(durable.length, this.common);
    for (let i = durable.length; i < volatile.length; i++) durable.push(volatile[i] as Entry<P>);
    this.durable.snapshot = this.volatile.snapshot;
    this.durable.hardState = this.volatile.hardState;
    this.common = volatile.length;
  }

  /** The process died: everything not synced is gone. */
  crash(): void {
    this.volatile = { entries: this.durable.entries.slice(), snapshot: this.durable.snapshot, hardState: this.durable.hardState };
    this.common = this.volatile.entries.length;
  }

  /** The base offset of the first entry of entry `i`'s term (terms never decrease: a binary search). */
  private termStart(i: number): Offset {
    const entries = this.volatile.entries;
    const term = (entries[i] as Entry<P>).term;
    let low = 0;
    let high = i;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((entries[mid] as Entry<P>).term < term) low = mid + 1;
      else high = mid;
    }
    return (entries[low] as Entry<P>).baseOffset;
  }

  private resync(): void {
    // After compaction the shared prefix is recomputed from scratch (compaction is rare).
    const a = this.volatile.entries;
    const b = this.durable.entries;
    let n = 0;
    while (n < a.length && n < b.length && a[n] === b[n]) n++;
    this.common = n;
  }
}
