/**
 * The storage engine's public surface: the only file other folders import. The client uses the
 * record batch codec; the broker and replication use the partition log.
 */
export { replaceFileAtomically } from './atomic-file.js';
export { crc32c } from './crc32c.js';
export { fsyncDirectory } from './directory.js';
export {
  BatchField,
  CompressionCodec,
  CONTROL_FLAG,
  TRANSACTIONAL_FLAG,
  MAGIC_V2,
  readBatchHeader,
  stampBatch,
  validateBatch,
  type BatchHeader,
  type CompressionName,
} from './batch-header.js';
export {
  controlTypeOf,
  encodeLeaderChangeBatch,
  encodeTxnMarkerBatch,
  LEADER_CHANGE_CONTROL_TYPE,
  readControlRecord,
  readTxnMarker,
  TXN_ABORT_CONTROL_TYPE,
  TXN_COMMIT_CONTROL_TYPE,
  type ControlRecord,
  type TxnMarker,
} from './control-batch.js';
export { DescriptorPool } from './descriptor-pool.js';
export { DEFAULT_LOG_CONFIG, parseLogConfig, type CleanupPolicy, type FlushPolicy, type LogConfig } from './config.js';
export { LOG_ERRORS, LogError, type LogErrorInfo, type LogErrorName } from './errors.js';
export { InvariantViolation } from './invariant.js';
export { BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES, MAX_BATCH_BYTES_CEILING, MAX_BATCH_BYTES_DEFAULT } from './limits.js';
export {
  UNDEFINED_EPOCH_END_OFFSET,
  type EpochEndOffset,
  type EpochEntry,
  type LeaderEpochCacheSource,
} from './leader-epoch-cache.js';
export type { LogEvents, SegmentRoll } from './log-events.js';
export type { OngoingTxn } from './producer-state.js';
export { Log, type AppendOrigin, type AppendResult, type LogOptions, type PreparedAppend, type LogTimers, type ReadOptions, type ReadResult, type RecoveryReport } from './log.js';
export type { CompactionResult } from './log-cleaner.js';
export {
  decodeBatch,
  decodeBatches,
  decodeBatchInto,
  encodeBatch,
  encodeBatchColumns,
  type DecodedBatch,
  type EncodeOptions,
  type Record,
  type RecordFactory,
  type RecordHeader,
  type RecordColumns,
  type RecordInput,
  wholeBatches,
} from './record-batch.js';
export type { RetentionReason } from './retention.js';
export { asEpoch, asOffset, asPosition, NO_EPOCH, type Epoch, type Offset, type Position } from './units.js';
