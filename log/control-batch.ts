/**
 * Control batches (Kafka's control records: attribute bit 5 set, one record whose key names the
 * control type). A client's batch may never be one (`record-validator.ts`); the log writes the ones
 * below for itself or for the broker's transaction coordinator.
 *
 * Every control record's key is Kafka's ControlRecordType: int16 BE version (0), int16 BE type.
 *
 * LEADER_CHANGE (control type 2) is the entry a new Raft leader appends at once in its term, as KRaft
 * writes one. Its record:
 *
 *   key    int16 BE version (0), int16 BE type (2)                     Kafka's ControlRecordType
 *   value  int16 BE version (0), int32 BE leaderId,                     after Kafka's LeaderChangeMessage
 *          voters: compact array (uvarint 1, empty),
 *          grantingVoters: compact array (uvarint 1, empty),
 *          tagged fields: uvarint 0
 *
 * The batch is built already stamped (base offset and partition leader epoch): it is proposed and
 * sent to followers before any replica writes it, like a producer's batch after
 * `Log.prepareLeaderAppend`. Its CRC covers the control bit, so it is computed after setting it.
 *
 * Transaction markers, ABORT (0) and COMMIT (1), are Kafka's EndTransactionMarker: a one-record
 * batch, attributes control | transactional, the header's producerId and producerEpoch those of the
 * transaction's producer, baseSequence -1; its record:
 *
 *   key    int16 BE version (0), int16 BE type (0 abort, 1 commit)
 *   value  int16 BE version (0), int32 BE coordinatorEpoch
 *
 * A marker is built unstamped (base offset 0, partition leader epoch -1): the coordinator hands it to
 * the leader's append path (`origin: 'coordinator'`), which stamps it like a producer's batch.
 *
 * Control batches are never compressed (Strata writes every one of them, Kafka writes its markers
 * uncompressed too), so their control type is read in place from the first record, without
 * decoding the batch: `readControlRecord`. The log refuses a control batch it cannot read that way.
 */
import { BatchField, batchSizeAt, computeBatchCrc, COMPRESSION_MASK, CONTROL_FLAG, readInt64, TRANSACTIONAL_FLAG } from './batch-header.js';
import { LogError } from './errors.js';
import { BATCH_HEADER_BYTES } from './limits.js';
import { encodeBatch } from './record-batch.js';
import type { Epoch, Offset } from './units.js';
import { readVarint, readVarlong } from './varint.js';

/** Kafka's ControlRecordType.ABORT and COMMIT: the two transaction markers. */
export const TXN_ABORT_CONTROL_TYPE = 0;
export const TXN_COMMIT_CONTROL_TYPE = 1;

/** Kafka's ControlRecordType.LEADER_CHANGE. */
export const LEADER_CHANGE_CONTROL_TYPE = 2;

/**
 * A one-record LEADER_CHANGE control batch at `baseOffset`, stamped with `leaderEpoch` (the Raft
 * term), naming `leaderId`. `timestamp` is the leader's clock (injected, so simulations stay exact).
 */
export function encodeLeaderChangeBatch(leaderEpoch: Epoch, leaderId: number, baseOffset: Offset, timestamp: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(LEADER_CHANGE_CONTROL_TYPE, 2);
  const value = Buffer.alloc(9);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(leaderId, 2);
  value[6] = 1;
  value[7] = 1;
  value[8] = 0;
  const batch = encodeBatch([{ key, value, timestamp }], { baseOffset, partitionLeaderEpoch: leaderEpoch });
  batch.writeInt16BE(batch.readInt16BE(BatchField.attributes) | CONTROL_FLAG, BatchField.attributes);
  batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), BatchField.crc);
  return batch;
}

/** What a transaction coordinator asks a partition leader to write: the end of one producer's transaction. */
export interface TxnMarker {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** True for COMMIT, false for ABORT. */
  readonly commit: boolean;
  readonly coordinatorEpoch: number;
}

/**
 * A one-record transaction marker batch (Kafka's EndTransactionMarker), unstamped: base offset 0,
 * partition leader epoch -1. `timestamp` is the coordinator's clock.
 */
export function encodeTxnMarkerBatch(marker: TxnMarker, timestamp: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(marker.commit ? TXN_COMMIT_CONTROL_TYPE : TXN_ABORT_CONTROL_TYPE, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(marker.coordinatorEpoch, 2);
  const batch = encodeBatch([{ key, value, timestamp }], {
    producerId: marker.producerId,
    producerEpoch: marker.producerEpoch,
    transactional: true,
  });
  batch.writeInt16BE(batch.readInt16BE(BatchField.attributes) | CONTROL_FLAG, BatchField.attributes);
  batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), BatchField.crc);
  return batch;
}

/** The first record of the control batch at `position`: its control type and its value. */
export interface ControlRecord {
  readonly type: number;
  readonly value: Buffer | null;
}

/**
 * Reads the control record of the control batch at `position` of `batch` in place (the batch whole
 * in `batch`, its CRC already checked). INVALID_RECORD if it is not a control batch, is compressed
 * or has no well-formed control key.
 */
export function readControlRecord(batch: Buffer, position: number): ControlRecord {
  const invalid = (why: string) => new LogError('INVALID_RECORD', `control batch at ${position}: ${why}`);
  const attributes = batch.readInt16BE(position + BatchField.attributes);
  if ((attributes & CONTROL_FLAG) === 0) throw invalid('not a control batch');
  if ((attributes & COMPRESSION_MASK) !== 0) throw invalid('compressed');
  if (batch.readInt32BE(position + BatchField.recordsCount) < 1) throw invalid('no record');
  const end = position + batchSizeAt(batch, position);
  const cursor = { buf: batch, pos: position + BATCH_HEADER_BYTES, end };
  const length = readVarint(cursor);
  if (length < 0 || cursor.pos + length > end) throw invalid(`record length ${length}`);
  cursor.end = cursor.pos + length;
  cursor.pos += 1; // record attributes
  readVarlong(cursor); // timestamp delta
  readVarint(cursor); // offset delta
  const keyLength = readVarint(cursor);
  if (keyLength < 4 || cursor.pos + keyLength > cursor.end) throw invalid(`key of ${keyLength} bytes`);
  const version = batch.readInt16BE(cursor.pos);
  if (version !== 0) throw invalid(`control key version ${version}`);
  const type = batch.readInt16BE(cursor.pos + 2);
  cursor.pos += keyLength;
  const valueLength = readVarint(cursor);
  if (valueLength < -1 || cursor.pos + Math.max(valueLength, 0) > cursor.end) throw invalid(`value of ${valueLength} bytes`);
  const value = valueLength < 0 ? null : batch.subarray(cursor.pos, cursor.pos + valueLength);
  return { type, value };
}

/** The control type (Kafka's ControlRecordType) of the control batch at `position`; see `readControlRecord`. */
export function controlTypeOf(batch: Buffer, position: number): number {
  return readControlRecord(batch, position).type;
}

/** True when the batch header at `position` says transaction marker: control and transactional. */
export function isTxnMarkerBatch(batch: Buffer, position: number): boolean {
  const attributes = batch.readInt16BE(position + BatchField.attributes);
  return (attributes & CONTROL_FLAG) !== 0 && (attributes & TRANSACTIONAL_FLAG) !== 0;
}

/**
 * The marker in the transaction-marker batch at `position`, checked: a producer id, an ABORT or
 * COMMIT key, a version-0 value holding the coordinator epoch. INVALID_RECORD otherwise.
 */
export function readTxnMarker(batch: Buffer, position: number): TxnMarker {
  const invalid = (why: string) => new LogError('INVALID_RECORD', `transaction marker at ${position}: ${why}`);
  if (!isTxnMarkerBatch(batch, position)) throw invalid('not a transactional control batch');
  const producerId = readInt64(batch, position + BatchField.producerId);
  if (producerId < 0) throw invalid(`producer id ${producerId}`);
  const { type, value } = readControlRecord(batch, position);
  if (type !== TXN_ABORT_CONTROL_TYPE && type !== TXN_COMMIT_CONTROL_TYPE) throw invalid(`control type ${type}`);
  if (value === null || value.length < 6 || value.readInt16BE(0) !== 0) throw invalid('value is not a version-0 EndTransactionMarker');
  return {
    producerId,
    producerEpoch: batch.readInt16BE(position + BatchField.producerEpoch),
    commit: type === TXN_COMMIT_CONTROL_TYPE,
    coordinatorEpoch: value.readInt32BE(2),
  };
}
