/**
 * Branded number types for the three quantities the storage engine must never mix up: a record's
 * offset in the partition, a byte position inside one segment file, and a leader epoch (Raft term).
 * They are plain numbers at run time; the brand only makes `position = offset` a compile error.
 *
 * Offsets are int64 on disk but JavaScript numbers here: exact up to 2^53, which at a million
 * records a second lasts 285 years. Positions are int32 on disk (a segment never exceeds 2 GiB).
 */
export type Offset = number & { readonly __unit: 'Offset' };
export type Position = number & { readonly __unit: 'Position' };
export type Epoch = number & { readonly __unit: 'Epoch' };

export const asOffset = (n: number): Offset => n as Offset;
export const asPosition = (n: number): Position => n as Position;
export const asEpoch = (n: number): Epoch => n as Epoch;

/** Epoch -1 marks a batch no leader has stamped yet (Kafka's NO_PARTITION_LEADER_EPOCH). */
export const NO_EPOCH = asEpoch(-1);
