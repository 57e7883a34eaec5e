/**
 * One assigned partition as a consumer sees it. Its *position* is the next offset to hand to the
 * application; its *fetch offset* the next offset to ask the broker for. They differ while fetched
 * records wait in the buffer. `epoch` is bumped by every seek and drop: buffered chunks and responses
 * of an older epoch are discarded when they surface, so nothing from before a seek is delivered
 * after it.
 *
 * With a group, the partition also records what the application holds (`inHand`, the first offsets of
 * deliveries handed out and not finished) and how far it finished (`finishedOffset`); the group may
 * resume the partition at `committableOffset`: past the finished messages, never past one in hand.
 */
import type { RecordFactory } from '../log/index.js';
import { messageFactory, type ConsumerMessage } from './consumer-message.js';
import { StrataError } from './protocol/index.js';
import { topicPartitionKey } from './topic-partitions.js';

/** Where a partition must be positioned before it can be fetched (resolved with ListOffsets). */
export type Reset = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'timestamp'; timestamp: number };

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  /** Next offset to hand to the application; undefined until positioned. */
  position: number | undefined;
  /** Next offset to fetch; undefined until positioned. */
  fetchOffset: number | undefined;
  reset: Reset | undefined;
  epoch: number;
  /** In an outstanding Fetch or ListOffsets request. */
  inFlight: boolean;
  paused: boolean;
  /** Chunks in the buffer not yet fully delivered. */
  chunks: number;
  /** Builds this partition's messages as the decoder reads records. */
  readonly toMessage: RecordFactory<ConsumerMessage>;
  highWatermark: number;
  /** An error for the application; the partition is not fetched while it is set or after it surfaced. */
  error: Error | undefined;
  failed: boolean;
  notBeforeMs: number;
  attempts: number;
  // Groups only.
  /** Being given up: neither fetched nor handed out. */
  revoking: boolean;
  /** Newly assigned, waiting for `onAssigned`: fetched but not handed out. */
  held: boolean;
  /** First offsets of the deliveries handed out and not finished yet. */
  inHand: number[];
  /** Offset of the last finished message + 1; undefined until one is finished. */
  finishedOffset: number | undefined;
  /** The committable offset last sent by auto-commit (to skip partitions that did not move). */
  commitSentOffset: number | undefined;
}

/** Messages handed out together (one, or a batch): in hand until the application finishes them. */
export interface Delivery {
  readonly state: PartitionState;
  readonly epoch: number;
  readonly firstOffset: number;
  readonly nextOffset: number;
}

export function newPartitionState(topic: string, partition: number, start: number | Reset): PartitionState {
  const positioned = typeof start === 'number';
  return {
    topic, partition, key: topicPartitionKey(topic, partition),
    position: positioned ? start : undefined,
    fetchOffset: positioned ? start : undefined,
    reset: positioned ? undefined : start,
    epoch: 0, inFlight: false, paused: false, chunks: 0, toMessage: messageFactory(topic, partition), highWatermark: -1,
    error: undefined, failed: false, notBeforeMs: 0, attempts: 0,
    revoking: false, held: false, inHand: [], finishedOffset: undefined, commitSentOffset: undefined,
  };
}

/** Where the group may resume a partition: past its finished messages, never past one still in hand. */
export function committableOffset(state: PartitionState): number | undefined {
  let offset = state.finishedOffset;
  if (offset === undefined) return undefined;
  for (const inHand of state.inHand) if (inHand < offset) offset = inHand;
  return offset;
}

/** What a consumer hands the application when something that is not an Error was thrown. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new StrataError('UNKNOWN_SERVER_ERROR', String(error));
}
