/**
 * Producer state on disk (Kafka's `<offset>.snapshot` files) and its rebuild from batch headers.
 *
 *   <dir>/00000000000000081234.snapshot   the producer state of the log below offset 81234
 *                                         (layout in `producer-state.ts`), replaced atomically
 *
 * A snapshot is taken when a segment rolls (the log writes it once that segment is sealed, so every
 * batch it describes is on disk) and at a clean close. Loading takes the newest snapshot at or below
 * the offset the state must describe and replays the batch headers from there (`scanBatchHeaders`):
 * recovery scans only the tail past the last snapshot, not the whole partition. A snapshot that does
 * not decode (torn, edited) is deleted and the next older one is tried; without one, every segment is
 * scanned.
 *
 * Snapshots above the log end (a truncation cut below them) are deleted when the log is cut; the two
 * newest are kept, older ones deleted as new ones are written.
 *
 * The replay reads transaction markers too (whole: their control type is in their record), so open
 * transactions and their ends come back; recovery uses the transactions the replay sees ended to
 * rebuild the aborted-transactions indexes of the segments it rescanned (`ReplayFrom`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { replaceFileAtomically } from './atomic-file.js';
import { BatchField, CONTROL_FLAG, readInt64, TRANSACTIONAL_FLAG } from './batch-header.js';
import { scanBatchHeaders } from './batch-scan.js';
import { isTxnMarkerBatch, readTxnMarker } from './control-batch.js';
import {
  decodeProducerSnapshot,
  encodeProducerSnapshot,
  type CompletedTxn,
  type ProducerBatch,
  type ProducerStateManager,
  type ProducerStateSnapshot,
  type TxnMarkerWrite,
} from './producer-state.js';
import type { Segment } from './segment.js';
import { asOffset, type Offset } from './units.js';

export const PRODUCER_SNAPSHOT_SUFFIX = '.snapshot';
/** Snapshots kept; older ones are deleted when a new one is written. */
const SNAPSHOTS_KEPT = 2;
/** Header bytes a producer-state scan reads: everything up to and including baseSequence. */
const PRODUCER_HEADER_BYTES = BatchField.baseSequence + 4;

export function producerSnapshotFile(dir: string, endOffset: Offset): string {
  return path.join(dir, `${String(endOffset).padStart(20, '0')}${PRODUCER_SNAPSHOT_SUFFIX}`);
}

/** End offsets of the snapshot files in `dir`, ascending. */
export function listProducerSnapshots(dir: string): Offset[] {
  const offsets: Offset[] = [];
  for (const name of fs.readdirSync(dir)) {
    const match = /^(\d{20})\.snapshot$/.exec(name);
    if (match !== null) offsets.push(asOffset(Number(match[1])));
  }
  return offsets.sort((a, b) => a - b);
}

/** Writes `snapshot` (fsynced, atomically) and deletes all but the newest few. */
export function writeProducerSnapshot(dir: string, snapshot: ProducerStateSnapshot): void {
  replaceFileAtomically(producerSnapshotFile(dir, snapshot.endOffset), encodeProducerSnapshot(snapshot));
  const offsets = listProducerSnapshots(dir);
  for (const old of offsets.slice(0, Math.max(0, offsets.length - SNAPSHOTS_KEPT))) fs.rmSync(producerSnapshotFile(dir, old), { force: true });
}

/** Deletes the snapshots describing more than the log holds after a cut to `endOffset`. */
export function deleteProducerSnapshotsAbove(dir: string, endOffset: Offset): void {
  for (const offset of listProducerSnapshots(dir)) if (offset > endOffset) fs.rmSync(producerSnapshotFile(dir, offset), { force: true });
}

export function deleteAllProducerSnapshots(dir: string): void {
  for (const offset of listProducerSnapshots(dir)) fs.rmSync(producerSnapshotFile(dir, offset), { force: true });
}

export interface ProducerStateLoad {
  /** The snapshot the state started from, if any. */
  readonly snapshotOffset: Offset | undefined;
  /** Bytes of batch headers read after it. */
  readonly bytesScanned: number;
}

/**
 * Where a replay must report the transactions it sees ended: every marker at or above `offset` is
 * passed to `completed`, with the state right after it (recovery rebuilds the `.txnindex` files of
 * the segments from `offset` on). The snapshot the replay starts from is then at or below `offset`.
 */
export interface ReplayFrom {
  readonly offset: Offset;
  readonly completed: (txn: CompletedTxn, state: ProducerStateManager) => void;
}

/**
 * Rebuilds `state` to describe the log below `upTo`: the newest good snapshot at or below it (and
 * at or below `replay.offset`), then the headers of every later batch in `segments`.
 */
export function loadProducerState(dir: string, segments: readonly Segment[], state: ProducerStateManager, upTo: Offset, replay?: ReplayFrom): ProducerStateLoad {
  const snapshotBound = Math.min(upTo, replay?.offset ?? upTo);
  let snapshotOffset: Offset | undefined;
  for (const offset of listProducerSnapshots(dir).reverse()) {
    if (offset > snapshotBound) continue;
    try {
      state.load(decodeProducerSnapshot(fs.readFileSync(producerSnapshotFile(dir, offset))));
      snapshotOffset = offset;
      break;
    } catch {
      fs.rmSync(producerSnapshotFile(dir, offset), { force: true });
    }
  }
  if (snapshotOffset === undefined) state.clear(asOffset(segments[0]?.baseOffset ?? 0));
  let bytesScanned = 0;
  for (const segment of segments) {
    if (segment.nextOffset <= state.endOffset || segment.baseOffset >= upTo) continue;
    const from = state.endOffset <= segment.baseOffset ? 0 : segment.locateOffset(state.endOffset)?.position;
    if (from === undefined) continue;
    const visit = (window: Buffer, at: number): void => {
      const batch = producerBatchAt(window, at);
      const lastOffset = asOffset(batch.firstOffset + batch.lastOffsetDelta);
      if (batch.firstOffset < state.endOffset || lastOffset >= upTo) return;
      const control = (window.readInt16BE(at + BatchField.attributes) & CONTROL_FLAG) !== 0;
      if (control && isTxnMarkerBatch(window, at)) {
        const completed = state.recordMarker(txnMarkerAt(window, at));
        if (completed !== undefined && replay !== undefined && completed.lastOffset >= replay.offset) replay.completed(completed, state);
      } else if (!control && batch.producerId >= 0) state.record(batch);
      else state.advance(asOffset(lastOffset + 1));
    };
    bytesScanned += scanBatchHeaders(segment.logFile, from, segment.sizeBytes, PRODUCER_HEADER_BYTES, visit, isTxnMarkerBatch);
  }
  state.advance(upTo);
  return { snapshotOffset, bytesScanned };
}

/** The producer fields of the batch header at `at` of `buf`. */
export function producerBatchAt(buf: Buffer, at: number): ProducerBatch {
  return {
    producerId: readInt64(buf, at + BatchField.producerId),
    epoch: buf.readInt16BE(at + BatchField.producerEpoch),
    firstSeq: buf.readInt32BE(at + BatchField.baseSequence),
    lastOffsetDelta: buf.readInt32BE(at + BatchField.lastOffsetDelta),
    firstOffset: asOffset(readInt64(buf, at + BatchField.baseOffset)),
    timestamp: readInt64(buf, at + BatchField.maxTimestamp),
    transactional: (buf.readInt16BE(at + BatchField.attributes) & TRANSACTIONAL_FLAG) !== 0,
  };
}

/** The transaction marker batch (whole) at `at` of `buf`, at its stamped offset. */
export function txnMarkerAt(buf: Buffer, at: number): TxnMarkerWrite {
  const marker = readTxnMarker(buf, at);
  return {
    producerId: marker.producerId,
    epoch: marker.producerEpoch,
    offset: asOffset(readInt64(buf, at + BatchField.baseOffset)),
    timestamp: readInt64(buf, at + BatchField.maxTimestamp),
    commit: marker.commit,
  };
}
