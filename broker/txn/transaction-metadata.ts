/**
 * One transactional id's state and the rules that move it (Kafka's `TransactionMetadata` and the
 * checks of `TransactionCoordinator`), as pure functions: each takes the current state and a request
 * and returns the next state or throws a StrataError naming why not. The coordinator persists the
 * next state to `__transaction_state` before it adopts it, so nothing here touches I/O or the clock.
 *
 * States and transitions (Kafka's names):
 *
 * ```
 *   Empty ──AddPartitions──▶ Ongoing ──EndTxn(commit)──▶ PrepareCommit ──markers──▶ CompleteCommit
 *     ▲  ▲                     │  └──EndTxn(abort), timeout, fencing──▶ PrepareAbort ──markers──▶ CompleteAbort
 *     │  └─InitProducerId──────┼─────────────────────────────────────────────────────────────────┘ │
 *     └──────InitProducerId────┴─── (from Complete*: InitProducerId → Empty, AddPartitions → Ongoing)
 * ```
 *
 * Fencing: an abort that is not the producer's own (its timeout passed, or a new instance called
 * InitProducerId) bumps the epoch first, so the abort markers carry epoch + 1 and every partition of
 * the transaction refuses the old instance from then on; the new instance then gets epoch + 2.
 */
import { StrataError } from '../../client/protocol/index.js';
import { invariant } from '../invariant.js';
import { PRODUCER_EPOCH_MAX } from '../producer-id-manager.js';

export const TRANSACTION_STATES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort'] as const;
export type TransactionState = (typeof TRANSACTION_STATES)[number];

export interface TxnPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface TransactionMetadata {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly transactionTimeoutMs: number;
  readonly state: TransactionState;
  /** The partitions of the open (or ending) transaction, sorted; empty otherwise. */
  readonly partitions: readonly TxnPartition[];
  /** When the open transaction began; -1 without one. */
  readonly transactionStartTimeMs: number;
  readonly lastUpdateTimeMs: number;
}

/** Kafka's valid previous states of each state. */
const VALID_PREVIOUS: Readonly<Record<TransactionState, readonly TransactionState[]>> = {
  Empty: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  Ongoing: ['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareCommit: ['Ongoing'],
  PrepareAbort: ['Ongoing'],
  CompleteCommit: ['PrepareCommit'],
  CompleteAbort: ['PrepareAbort'],
};

export function isPrepare(state: TransactionState): boolean {
  return state === 'PrepareCommit' || state === 'PrepareAbort';
}

function transition(from: TransactionMetadata, to: Omit<TransactionMetadata, 'transactionalId'>): TransactionMetadata {
  invariant(VALID_PREVIOUS[to.state].includes(from.state), () => `${from.transactionalId}: no transition from ${from.state} to ${to.state}`);
  invariant(to.producerEpoch >= 0 && to.producerEpoch <= PRODUCER_EPOCH_MAX, () => `${from.transactionalId}: epoch ${to.producerEpoch}`);
  return { transactionalId: from.transactionalId, ...to };
}

/** A transactional id seen for the first time: a fresh producer id at epoch 0. */
export function newTransactionalId(transactionalId: string, producerId: number, transactionTimeoutMs: number, now: number): TransactionMetadata {
  return { transactionalId, producerId, producerEpoch: 0, transactionTimeoutMs, state: 'Empty', partitions: [], transactionStartTimeMs: -1, lastUpdateTimeMs: now };
}

/**
 * The checks every request of a producer passes (Kafka's order): its id must be the one this
 * transactional id holds (INVALID_PRODUCER_ID_MAPPING), its epoch not older (PRODUCER_FENCED).
 */
export function checkProducer(metadata: TransactionMetadata, producerId: number, producerEpoch: number): void {
  if (producerId !== metadata.producerId) {
    throw new StrataError('INVALID_PRODUCER_ID_MAPPING', `${metadata.transactionalId} holds producer id ${metadata.producerId}, not ${producerId}.`);
  }
  if (producerEpoch !== metadata.producerEpoch) {
    throw new StrataError('PRODUCER_FENCED', `${metadata.transactionalId} is at epoch ${metadata.producerEpoch}; epoch ${producerEpoch} was fenced by a newer instance or an aborted transaction.`);
  }
}

export type InitOutcome =
  /** The transaction is idle: the next state is persisted and its id and epoch answered. */
  | { readonly kind: 'bumped'; readonly next: TransactionMetadata }
  /** An open transaction must be aborted (fenced) first; then InitProducerId is applied again. */
  | { readonly kind: 'abort-first'; readonly next: TransactionMetadata };

/**
 * InitProducerId for a known transactional id. `current` (the caller's id and epoch, KIP-360) may be
 * -1/-1; otherwise it must be this id's current identity. `newProducerId` is called only when the
 * epoch is exhausted.
 */
export function initProducer(
  metadata: TransactionMetadata,
  request: { transactionTimeoutMs: number; producerId: number; producerEpoch: number },
  now: number,
  newProducerId: () => number,
): InitOutcome {
  if (request.producerId !== -1) checkProducer(metadata, request.producerId, request.producerEpoch);
  if (isPrepare(metadata.state)) throw new StrataError('CONCURRENT_TRANSACTIONS', `${metadata.transactionalId} is completing its transaction (${metadata.state}).`);
  if (metadata.state === 'Ongoing') return { kind: 'abort-first', next: fenceAndAbort(metadata, now) };
  const exhausted = metadata.producerEpoch >= PRODUCER_EPOCH_MAX;
  return {
    kind: 'bumped',
    next: transition(metadata, {
      producerId: exhausted ? newProducerId() : metadata.producerId,
      producerEpoch: exhausted ? 0 : metadata.producerEpoch + 1,
      transactionTimeoutMs: request.transactionTimeoutMs,
      state: 'Empty',
      partitions: [],
      transactionStartTimeMs: -1,
      lastUpdateTimeMs: now,
    }),
  };
}

/**
 * AddPartitionsToTxn (and AddOffsetsToTxn): the partitions join the transaction, which opens if none
 * is. Returns `metadata` itself when every partition is already in it (nothing to persist).
 */
export function addPartitions(metadata: TransactionMetadata, producerId: number, producerEpoch: number, partitions: readonly TxnPartition[], now: number): TransactionMetadata {
  checkProducer(metadata, producerId, producerEpoch);
  if (isPrepare(metadata.state)) throw new StrataError('CONCURRENT_TRANSACTIONS', `${metadata.transactionalId} is completing its transaction (${metadata.state}); retry.`);
  const opening = metadata.state !== 'Ongoing';
  const merged = mergePartitions(opening ? [] : metadata.partitions, partitions);
  if (!opening && merged.length === metadata.partitions.length) return metadata;
  return transition(metadata, {
    producerId: metadata.producerId,
    producerEpoch: metadata.producerEpoch,
    transactionTimeoutMs: metadata.transactionTimeoutMs,
    state: 'Ongoing',
    partitions: merged,
    transactionStartTimeMs: opening ? now : metadata.transactionStartTimeMs,
    lastUpdateTimeMs: now,
  });
}

export type EndOutcome =
  /** Persist `next` (Prepare*), write the markers, then complete. */
  | { readonly kind: 'prepare'; readonly next: TransactionMetadata }
  /** The same outcome is already being completed: wait for it. */
  | { readonly kind: 'completing' }
  /** A retry of the outcome that just completed: success, nothing to do. */
  | { readonly kind: 'completed' };

/** EndTxn: commit (`commit` true) or abort the producer's open transaction. */
export function endTransaction(metadata: TransactionMetadata, producerId: number, producerEpoch: number, commit: boolean, now: number): EndOutcome {
  checkProducer(metadata, producerId, producerEpoch);
  const word = commit ? 'commit' : 'abort';
  switch (metadata.state) {
    case 'Ongoing':
      return { kind: 'prepare', next: prepareEnd(metadata, metadata.producerEpoch, commit, now) };
    case 'PrepareCommit':
    case 'PrepareAbort':
      if ((metadata.state === 'PrepareCommit') === commit) return { kind: 'completing' };
      throw new StrataError('INVALID_TXN_STATE', `${metadata.transactionalId} cannot ${word}: its transaction is ending the other way (${metadata.state}).`);
    case 'CompleteCommit':
    case 'CompleteAbort':
      if ((metadata.state === 'CompleteCommit') === commit) return { kind: 'completed' };
      throw new StrataError('INVALID_TXN_STATE', `${metadata.transactionalId} cannot ${word}: it has no open transaction (the last one ended ${metadata.state}).`);
    case 'Empty':
      throw new StrataError('INVALID_TXN_STATE', `${metadata.transactionalId} cannot ${word}: it has no open transaction (add partitions first).`);
  }
}

/**
 * An abort that is not the producer's own (its timeout passed, or a new instance took over): the
 * epoch is bumped so the abort markers fence the old instance on every partition (at the maximum
 * epoch it cannot be: the markers carry it as it is, and the next InitProducerId takes a new id).
 */
export function fenceAndAbort(metadata: TransactionMetadata, now: number): TransactionMetadata {
  invariant(metadata.state === 'Ongoing', () => `${metadata.transactionalId}: fencing abort from ${metadata.state}`);
  return prepareEnd(metadata, Math.min(metadata.producerEpoch + 1, PRODUCER_EPOCH_MAX), false, now);
}

/** True when an open transaction has passed its timeout. */
export function hasTimedOut(metadata: TransactionMetadata, now: number): boolean {
  return metadata.state === 'Ongoing' && now - metadata.transactionStartTimeMs > metadata.transactionTimeoutMs;
}

/** Every marker is written: Prepare* → Complete*; the transaction's partitions are forgotten. */
export function completeEnd(metadata: TransactionMetadata, now: number): TransactionMetadata {
  invariant(isPrepare(metadata.state), () => `${metadata.transactionalId}: completing from ${metadata.state}`);
  return transition(metadata, {
    producerId: metadata.producerId,
    producerEpoch: metadata.producerEpoch,
    transactionTimeoutMs: metadata.transactionTimeoutMs,
    state: metadata.state === 'PrepareCommit' ? 'CompleteCommit' : 'CompleteAbort',
    partitions: [],
    transactionStartTimeMs: -1,
    lastUpdateTimeMs: now,
  });
}

function prepareEnd(metadata: TransactionMetadata, producerEpoch: number, commit: boolean, now: number): TransactionMetadata {
  return transition(metadata, {
    producerId: metadata.producerId,
    producerEpoch,
    transactionTimeoutMs: metadata.transactionTimeoutMs,
    state: commit ? 'PrepareCommit' : 'PrepareAbort',
    partitions: metadata.partitions,
    transactionStartTimeMs: metadata.transactionStartTimeMs,
    lastUpdateTimeMs: now,
  });
}

/** `existing` plus `added`, without duplicates, sorted by topic then partition. */
function mergePartitions(existing: readonly TxnPartition[], added: readonly TxnPartition[]): TxnPartition[] {
  const byKey = new Map<string, TxnPartition>();
  for (const p of [...existing, ...added]) byKey.set(`${p.topic}\u0000${p.partition}`, { topic: p.topic, partition: p.partition });
  return [...byKey.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}
