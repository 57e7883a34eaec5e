/**
 * The leader-epoch cache (Kafka's LeaderEpochFileCache and its `leader-epoch-checkpoint` file): for
 * each leader epoch (Raft term) that wrote to the log, the first offset it wrote, so that a leader can
 * answer a follower's "where does my epoch E end in your log?" (Kafka's OffsetsForLeaderEpoch) without
 * scanning, and the follower can cut its divergent tail there.
 *
 * On disk, `<dir>/leader-epoch-checkpoint`, text, one item a line (Kafka's layout plus a CRC line):
 *
 *   1                 version
 *   2                 number of entries
 *   5 100             epoch, start offset (decimal), oldest first
 *   6 150
 *   crc 2954281547    CRC-32C of every byte before this line
 *
 * It is replaced atomically (`atomic-file.ts`): a crash leaves the old file or the new one. A missing,
 * torn, edited or insane file (bad CRC, epochs or offsets not strictly increasing) reads as absent and
 * the log rebuilds the cache from its batch headers.
 *
 * Invariants (asserted on every change): epochs strictly increase; start offsets strictly increase;
 * every epoch is >= 0 (a batch without a leader epoch, -1, starts nothing). The log keeps every start
 * offset inside [logStartOffset, logEndOffset): `truncateFromEnd` on truncation, `truncateFromStart`
 * (entries at or below the new log start are folded into one at the log start, as Kafka does) when the
 * log start moves.
 *
 * Durability is the log's business (see `log.ts`): the file is rewritten, when the cache changed, just
 * before each `log.checkpoint`, so it is complete below the checkpointed recovery point; after an
 * unclean stop the log drops the entries at or above the first segment it rescans and rebuilds them
 * from the batches that recovery kept. The cache thus never claims an epoch at an offset that is not in
 * the log, and the append path never waits for it.
 *
 * Concurrency: one thread; the file functions are synchronous (a few hundred bytes, rarely written).
 */
import fs from 'node:fs';
import path from 'node:path';
import { replaceFileAtomically } from './atomic-file.js';
import { BatchField, readInt64 } from './batch-header.js';
import { readFully, scanBatchHeaders } from './batch-scan.js';
import { crc32c } from './crc32c.js';
import { invariant } from './invariant.js';
import type { Segment } from './segment.js';
import { asEpoch, asOffset, NO_EPOCH, type Epoch, type Offset } from './units.js';

export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
const VERSION = 1;

/** Epoch `epoch` wrote its first batch at `startOffset` (or the log starts inside that epoch there). */
export interface EpochEntry {
  readonly epoch: Epoch;
  readonly startOffset: Offset;
}

/** The answer to OffsetsForLeaderEpoch: the largest epoch <= the one asked for, and where it ends. */
export interface EpochEndOffset {
  readonly epoch: Epoch;
  /** The first offset after that epoch: the next epoch's start, or the log end for the latest. */
  readonly endOffset: Offset;
}

/** Kafka's (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET): the log cannot say. */
export const UNDEFINED_EPOCH_END_OFFSET: EpochEndOffset = Object.freeze({ epoch: NO_EPOCH, endOffset: asOffset(-1) });

export class LeaderEpochCache {
  #entries: EpochEntry[];
  #dirty = false;

  /** `unwritten`: the file does not hold these entries yet (a rebuilt cache), so `persist` writes them. */
  constructor(entries: readonly EpochEntry[] = [], options: { unwritten?: boolean } = {}) {
    invariant(isStrictlyIncreasing(entries), () => `epoch entries not strictly increasing: ${describeEntries(entries)}`);
    this.#entries = [...entries];
    this.#dirty = options.unwritten ?? false;
  }

  get entries(): readonly EpochEntry[] {
    return this.#entries;
  }

  /** The epoch of the newest entry; NO_EPOCH (-1) when the cache is empty. */
  get latestEpoch(): Epoch {
    return this.#entries.at(-1)?.epoch ?? NO_EPOCH;
  }

  /** True when the cache changed since it was last written (or loaded). */
  get isDirty(): boolean {
    return this.#dirty;
  }

  /**
   * Notes that a batch of `epoch` starts at `startOffset`. A new (higher) epoch gets an entry; the
   * latest epoch again is nothing new; a batch without an epoch (-1) is ignored. An epoch below the
   * latest is a broken invariant: the append path refuses such batches before they are written.
   */
  assign(epoch: Epoch, startOffset: Offset): void {
    if (epoch < 0) return;
    const latest = this.#entries.at(-1);
    if (latest !== undefined) {
      invariant(epoch >= latest.epoch, () => `leader epoch went back from ${latest.epoch} to ${epoch} at offset ${startOffset}`);
      invariant(startOffset >= latest.startOffset, () => `epoch ${epoch} at offset ${startOffset}, below epoch ${latest.epoch}'s start ${latest.startOffset}`);
      if (epoch === latest.epoch) return;
      invariant(startOffset > latest.startOffset, () => `epochs ${latest.epoch} and ${epoch} both start at ${startOffset}`);
    }
    this.#entries.push({ epoch, startOffset });
    this.#dirty = true;
  }

  /** Removes the entries starting at or above `endOffset` (the log was truncated there). */
  truncateFromEnd(endOffset: Offset): void {
    let keep = this.#entries.length;
    while (keep > 0 && (this.#entries[keep - 1] as EpochEntry).startOffset >= endOffset) keep -= 1;
    if (keep === this.#entries.length) return;
    this.#entries.length = keep;
    this.#dirty = true;
  }

  /**
   * The log now starts at `startOffset`: the entries starting at or below it are folded into one, the
   * latest of them, starting at `startOffset` (Kafka's truncateFromStart). Later entries stay.
   */
  truncateFromStart(startOffset: Offset): void {
    let below = 0;
    while (below < this.#entries.length && (this.#entries[below] as EpochEntry).startOffset <= startOffset) below += 1;
    if (below === 0) return;
    const kept = this.#entries[below - 1] as EpochEntry;
    if (below === 1 && kept.startOffset === startOffset) return;
    this.#entries.splice(0, below, { epoch: kept.epoch, startOffset });
    this.#dirty = true;
  }

  clear(): void {
    if (this.#entries.length === 0) return;
    this.#entries = [];
    this.#dirty = true;
  }

  /**
   * Kafka's OffsetsForLeaderEpoch over a log ending at `logEndOffset`: the largest known epoch <=
   * `epoch`, with the start offset of the first epoch above it, or `logEndOffset` if there is none.
   * UNDEFINED when `epoch` is below every known epoch (or the cache is empty): the log cannot tell
   * where it ended. One difference from Kafka's cache: an epoch above the latest gets (latest epoch,
   * log end), which is what the rule says, where Kafka answers UNDEFINED for a question it deems
   * impossible; a Raft leader that has not yet written in its own epoch can be asked exactly that.
   */
  endOffsetFor(epoch: Epoch, logEndOffset: Offset): EpochEndOffset {
    const entries = this.#entries;
    // The first entry with an epoch above `epoch`.
    let low = 0;
    let high = entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((entries[mid] as EpochEntry).epoch <= epoch) low = mid + 1;
      else high = mid;
    }
    if (low === 0) return UNDEFINED_EPOCH_END_OFFSET;
    const floor = entries[low - 1] as EpochEntry;
    const endOffset = low < entries.length ? (entries[low] as EpochEntry).startOffset : logEndOffset;
    invariant(endOffset >= floor.startOffset, () => `epoch ${floor.epoch} starts at ${floor.startOffset}, after the log end ${endOffset}`);
    return { epoch: floor.epoch, endOffset };
  }

  /** Writes the file in `dir` if the cache changed since it was last written. */
  persist(dir: string): void {
    if (!this.#dirty) return;
    writeLeaderEpochCheckpoint(dir, this.#entries);
    this.#dirty = false;
  }
}

/** The entries in `dir`'s checkpoint file, or undefined if it is missing, damaged or insane. */
export function readLeaderEpochCheckpoint(dir: string): EpochEntry[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE), 'latin1');
  } catch {
    return undefined;
  }
  const crcLine = text.lastIndexOf('crc ', text.length - 2);
  if (crcLine < 0 || !text.endsWith('\n')) return undefined;
  const body = text.slice(0, crcLine);
  if (`crc ${crc32c(Buffer.from(body, 'latin1'))}\n` !== text.slice(crcLine)) return undefined;
  const lines = body.split('\n');
  if (lines.pop() !== '' || lines[0] !== String(VERSION) || lines[1] !== String(lines.length - 2)) return undefined;
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const match = /^(\d{1,10}) (\d{1,16})$/.exec(line);
    if (match === null) return undefined;
    const epoch = Number(match[1]);
    const startOffset = Number(match[2]);
    if (epoch > 2 ** 31 - 1 || !Number.isSafeInteger(startOffset)) return undefined;
    entries.push({ epoch: asEpoch(epoch), startOffset: asOffset(startOffset) });
  }
  return isStrictlyIncreasing(entries) ? entries : undefined;
}

export function writeLeaderEpochCheckpoint(dir: string, entries: readonly EpochEntry[]): void {
  const body = [String(VERSION), String(entries.length), ...entries.map((e) => `${e.epoch} ${e.startOffset}`), ''].join('\n');
  replaceFileAtomically(path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE), `${body}crc ${crc32c(Buffer.from(body, 'latin1'))}\n`);
}

/** How `loadLeaderEpochCache` got the cache: the file as it was, the file with its unvouched tail
 * rebuilt from the batches, or every batch header of the log. */
export type LeaderEpochCacheSource = 'file' | 'file+tail' | 'rebuilt';

export interface LeaderEpochCacheLoad {
  cache: LeaderEpochCache;
  source: LeaderEpochCacheSource;
  /** Bytes of segment files read to rebuild entries. */
  bytesScanned: number;
}

/**
 * Loads the cache of the log made of `segments` (recovered already), starting at `logStartOffset`.
 * `verifiedBelow` is where recovery stopped trusting the files (the base offset of the first segment
 * it rescanned, or the log end after a clean stop): the file's entries at or above it may describe
 * batches a crash lost or a truncation that did not reach the disk, so they are dropped and rebuilt
 * from the batch headers of those segments. The entries below it are checked against the log (the
 * batch at each start offset has that epoch; the last batch below `verifiedBelow` has the latest
 * epoch); a file that fails the check, or is missing or damaged, is rebuilt from every batch header.
 */
export function loadLeaderEpochCache(dir: string, segments: readonly Segment[], logStartOffset: Offset, verifiedBelow: Offset): LeaderEpochCacheLoad {
  const logEndOffset = (segments.at(-1) as Segment).nextOffset;
  const scanFrom = asOffset(Math.min(verifiedBelow, logEndOffset));
  invariant(scanFrom === logEndOffset || segments.some((s) => s.baseOffset === scanFrom), () => `epoch rescan from ${scanFrom}, not a segment base`);
  const stored = readLeaderEpochCheckpoint(dir);
  let load: LeaderEpochCacheLoad | undefined;
  if (stored !== undefined) {
    const cache = new LeaderEpochCache(stored);
    // Fold first: a fold after the cut could raise an entry above where the rescan starts.
    cache.truncateFromStart(logStartOffset);
    cache.truncateFromEnd(scanFrom);
    if (agreesWithLog(cache, segments, logStartOffset, scanFrom)) {
      const bytesScanned = scanSegments(cache, segments.filter((s) => s.baseOffset >= scanFrom), logStartOffset);
      load = { cache, source: bytesScanned === 0 ? 'file' : 'file+tail', bytesScanned };
    }
  }
  if (load === undefined) {
    const cache = new LeaderEpochCache([], { unwritten: true });
    load = { cache, source: 'rebuilt', bytesScanned: scanSegments(cache, segments, logStartOffset) };
  }
  load.cache.truncateFromStart(logStartOffset);
  load.cache.truncateFromEnd(logEndOffset);
  return load;
}

/**
 * Adds the epochs of every batch in `segments` that ends at or above `logStartOffset` to `cache`.
 * Batches wholly below the log start are left out: they are no longer part of the log, and a later
 * batch may carry a lower epoch than theirs (a log truncated below its start, then appended to).
 * Lenient where `assign` asserts: a batch whose epoch is not above the latest is skipped, so a log
 * written before epochs were enforced to grow still opens (its cache then keeps each epoch's first rise).
 */
function scanSegments(cache: LeaderEpochCache, segments: readonly Segment[], logStartOffset: Offset): number {
  let bytesScanned = 0;
  for (const segment of segments) {
    const visit = (epoch: Epoch, baseOffset: Offset) => {
      const latest = cache.entries.at(-1);
      if (latest === undefined || (epoch > latest.epoch && baseOffset > latest.startOffset)) cache.assign(epoch, baseOffset);
    };
    bytesScanned += scanBatchEpochs(segment.logFile, 0, segment.sizeBytes, visit, logStartOffset);
  }
  return bytesScanned;
}

/** True if every entry names the epoch of the batch at its start, and the last batch below `upTo` has the latest epoch. */
function agreesWithLog(cache: LeaderEpochCache, segments: readonly Segment[], logStartOffset: Offset, upTo: Offset): boolean {
  for (const entry of cache.entries) {
    const location = locate(segments, entry.startOffset);
    if (location === undefined || epochOfBatchAt(location.file, location.position) !== entry.epoch) return false;
  }
  if (upTo <= logStartOffset) return true;
  const last = locate(segments, asOffset(upTo - 1));
  if (last === undefined || last.baseOffset >= upTo) return true;
  const epoch = epochOfBatchAt(last.file, last.position);
  return epoch < 0 || epoch === cache.latestEpoch;
}

/** The first batch whose last offset is at least `offset`, with its segment file. */
function locate(segments: readonly Segment[], offset: Offset): { file: string; position: number; baseOffset: Offset } | undefined {
  let i = segments.length - 1;
  while (i > 0 && (segments[i] as Segment).baseOffset > offset) i -= 1;
  for (; i < segments.length; i++) {
    const segment = segments[i] as Segment;
    const location = segment.locateOffset(offset);
    if (location !== undefined) return { file: segment.logFile, position: location.position, baseOffset: location.baseOffset };
  }
  return undefined;
}

/** Header bytes a scan needs: baseOffset, batchLength, partitionLeaderEpoch, up to lastOffsetDelta. */
const EPOCH_HEADER_BYTES = BatchField.lastOffsetDelta + 4;

/**
 * Calls `visit(epoch, baseOffset)` for the first batch in bytes [from, to) of the segment file `file`
 * and then for each batch whose epoch differs from the one before it (`batch-scan.ts` reads the
 * headers), leaving out batches that end below `fromOffset`. Returns the bytes read.
 */
export function scanBatchEpochs(file: string, from: number, to: number, visit: (epoch: Epoch, baseOffset: Offset) => void, fromOffset = 0): number {
  let previousEpoch: number | undefined;
  return scanBatchHeaders(file, from, to, EPOCH_HEADER_BYTES, (window, at) => {
    if (readInt64(window, at + BatchField.baseOffset) + window.readInt32BE(at + BatchField.lastOffsetDelta) < fromOffset) return;
    const epoch = window.readInt32BE(at + BatchField.partitionLeaderEpoch);
    if (epoch !== previousEpoch) {
      visit(asEpoch(epoch), asOffset(readInt64(window, at + BatchField.baseOffset)));
      previousEpoch = epoch;
    }
  });
}

/** The leader epoch of the batch at byte `position` of `file`. */
export function epochOfBatchAt(file: string, position: number): Epoch {
  const fd = fs.openSync(file, 'r');
  try {
    const header = Buffer.alloc(EPOCH_HEADER_BYTES);
    invariant(readFully(fd, header, header.length, position) === header.length, () => `${file}: no batch header at ${position}`);
    return asEpoch(header.readInt32BE(BatchField.partitionLeaderEpoch));
  } finally {
    fs.closeSync(fd);
  }
}

function isStrictlyIncreasing(entries: readonly EpochEntry[]): boolean {
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as EpochEntry;
    if (!Number.isSafeInteger(entry.epoch) || entry.epoch < 0 || !Number.isSafeInteger(entry.startOffset) || entry.startOffset < 0) return false;
    const previous = entries[i - 1];
    if (previous !== undefined && (entry.epoch <= previous.epoch || entry.startOffset <= previous.startOffset)) return false;
  }
  return true;
}

function describeEntries(entries: readonly EpochEntry[]): string {
  return entries.map((e) => `(${e.epoch}, ${e.startOffset})`).join(' ');
}
