/**
 * The admin side of transactions (`admin.listTransactions`, `admin.describeTransactions`), what
 * `strata transaction list|describe` shows.
 *
 * - Listing asks every broker (ListTransactions): each knows only the transactional ids it
 *   coordinates. While a coordinator moves two brokers may list the same id: the first answer is kept.
 * - Describing asks each id's coordinator (FindCoordinator key type 1), with the retries of
 *   `transaction-coordinator-client.ts`. An id no coordinator knows is TRANSACTIONAL_ID_NOT_FOUND.
 */
import type { Cluster } from './cluster.js';
import { API_KEYS, ERRORS, StrataError } from './protocol/index.js';
import { withRetry } from './retry.js';
import { TransactionCoordinatorClient } from './transaction-coordinator-client.js';
import { compareTopicPartitions, type TopicPartition } from './topic-partitions.js';

/** Kafka's transaction states, as the coordinators name them. */
export const TRANSACTION_STATES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort'] as const;
export type TransactionState = (typeof TRANSACTION_STATES)[number];

export interface TransactionListing {
  transactionalId: string;
  producerId: number;
  state: string;
  /** When the open transaction began (ms since the epoch); -1 with none open. */
  transactionStartTimeMs: number;
  transactionTimeoutMs: number;
}

export interface TransactionDescription {
  transactionalId: string;
  state: string;
  producerId: number;
  producerEpoch: number;
  transactionTimeoutMs: number;
  /** -1 with no open transaction. */
  transactionStartTimeMs: number;
  /** The partitions in the open transaction, by topic then partition. */
  partitions: TopicPartition[];
}

/** Every transactional id of the cluster (optionally only in `states`), by id. */
export async function listTransactions(cluster: Cluster, options: { states?: readonly string[] } = {}): Promise<TransactionListing[]> {
  const states = options.states ?? [];
  if (!Array.isArray(states)) throw new TypeError('listTransactions: states must be an array of state names');
  for (const state of states) {
    if (!(TRANSACTION_STATES as readonly string[]).includes(state)) throw new RangeError(`listTransactions: unknown state '${String(state)}'; known: ${TRANSACTION_STATES.join(', ')}`);
  }
  await cluster.refreshMetadata([]);
  const answers = await Promise.all(
    [...cluster.metadata.brokers.keys()].map((nodeId) =>
      withRetry(async () => {
        const response = await cluster.requestNode(nodeId, API_KEYS.listTransactions, { stateFilters: [...states], producerIdFilters: [] });
        if (response.errorCode !== 0) throw StrataError.fromCode(response.errorCode, response.errorMessage === '' ? undefined : response.errorMessage);
        return response.transactionStates;
      }, cluster.config.retry),
    ),
  );
  const byId = new Map<string, TransactionListing>();
  for (const listed of answers.flat()) if (!byId.has(listed.transactionalId)) byId.set(listed.transactionalId, { ...listed });
  return [...byId.values()].sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0));
}

/** Each id's state at its coordinator, in the order given; rejects with the first failure. */
export async function describeTransactions(cluster: Cluster, transactionalIds: readonly string[]): Promise<TransactionDescription[]> {
  if (!Array.isArray(transactionalIds) || transactionalIds.some((id) => typeof id !== 'string' || id === '')) {
    throw new TypeError('describeTransactions: expected an array of non-empty transactional ids');
  }
  return Promise.all(
    transactionalIds.map(async (transactionalId) => {
      const coordinator = new TransactionCoordinatorClient(cluster, transactionalId);
      const response = await coordinator.request(API_KEYS.describeTransactions, { transactionalIds: [transactionalId] }, (r) => {
        const state = r.transactionStates.find((s) => s.transactionalId === transactionalId);
        if (state === undefined) return { code: ERRORS.INVALID_RESPONSE.code, message: `The answer left out transactional id '${transactionalId}'.` };
        return { code: state.errorCode, message: state.errorCode === 0 ? '' : `Transactional id '${transactionalId}'${state.errorMessage === '' ? '.' : `: ${state.errorMessage}`}` };
      });
      const state = response.transactionStates.find((s) => s.transactionalId === transactionalId)!;
      return {
        transactionalId,
        state: state.state,
        producerId: state.producerId,
        producerEpoch: state.producerEpoch,
        transactionTimeoutMs: state.transactionTimeoutMs,
        transactionStartTimeMs: state.transactionStartTimeMs,
        partitions: state.topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition }))).sort(compareTopicPartitions),
      };
    }),
  );
}
