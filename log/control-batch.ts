/**
 * Control batches the log writes for itself (Kafka's control records: attribute bit 5 set, one record
 * whose key names the control type). Only a replica's append takes them (`appendAsFollower`); a
 * client's batch may never be one (`record-validator.ts`).
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
 */
import { BatchField, computeBatchCrc, CONTROL_FLAG } from './batch-header.js';
import { encodeBatch } from './record-batch.js';
import type { Epoch, Offset } from './units.js';

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
