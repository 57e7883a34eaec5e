/**
 * The numeric registry of request handlers: api key → the function that serves it, one file per
 * API in `handlers/`. Typed over the protocol's own registry, so adding an API to the protocol
 * without a handler here is a compile error (and ApiVersions can answer the protocol's list).
 */
import { API_KEYS, type ApiKey, type RequestOf, type ResponseOf } from '../client/protocol/index.js';
import { handleAddOffsetsToTxn } from './handlers/add-offsets-to-txn.js';
import { handleAddPartitionsToTxn } from './handlers/add-partitions-to-txn.js';
import { handleApiVersions } from './handlers/api-versions.js';
import { handleAlterPartition } from './handlers/alter-partition.js';
import { handleBrokerRegistration } from './handlers/broker-registration.js';
import { handleConsumerGroupDescribe } from './handlers/consumer-group-describe.js';
import { handleConsumerGroupHeartbeat } from './handlers/consumer-group-heartbeat.js';
import { handleCreateTopics } from './handlers/create-topics.js';
import { handleDeleteGroups } from './handlers/delete-groups.js';
import { handleDeleteTopics } from './handlers/delete-topics.js';
import { handleDescribeConfigs } from './handlers/describe-configs.js';
import { handleDescribeTransactions } from './handlers/describe-transactions.js';
import { handleEndTxn } from './handlers/end-txn.js';
import { handleFetch } from './handlers/fetch.js';
import { handleFindCoordinator } from './handlers/find-coordinator.js';
import { handleInitProducerId } from './handlers/init-producer-id.js';
import { handleListGroups } from './handlers/list-groups.js';
import { handleListOffsets } from './handlers/list-offsets.js';
import { handleListTransactions } from './handlers/list-transactions.js';
import { handleMetadata } from './handlers/metadata.js';
import { handleOffsetCommit } from './handlers/offset-commit.js';
import { handleOffsetFetch } from './handlers/offset-fetch.js';
import { handleProduce } from './handlers/produce.js';
import { handleRaftMessages } from './handlers/raft-messages.js';
import { handleTxnOffsetCommit } from './handlers/txn-offset-commit.js';
import { handleWriteTxnMarkers } from './handlers/write-txn-markers.js';
import type { RequestContext } from './request-context.js';

/** Serves one request; resolves to the response body, or undefined when the request is not answered. */
export type Handler<K extends ApiKey> = (request: RequestOf<K>, context: RequestContext) => Promise<ResponseOf<K> | undefined>;

export const HANDLERS: { readonly [K in ApiKey]: Handler<K> } = Object.freeze({
  [API_KEYS.produce]: handleProduce,
  [API_KEYS.fetch]: handleFetch,
  [API_KEYS.listOffsets]: handleListOffsets,
  [API_KEYS.metadata]: handleMetadata,
  [API_KEYS.offsetCommit]: handleOffsetCommit,
  [API_KEYS.offsetFetch]: handleOffsetFetch,
  [API_KEYS.findCoordinator]: handleFindCoordinator,
  [API_KEYS.listGroups]: handleListGroups,
  [API_KEYS.apiVersions]: handleApiVersions,
  [API_KEYS.createTopics]: handleCreateTopics,
  [API_KEYS.deleteTopics]: handleDeleteTopics,
  [API_KEYS.initProducerId]: handleInitProducerId,
  [API_KEYS.addPartitionsToTxn]: handleAddPartitionsToTxn,
  [API_KEYS.addOffsetsToTxn]: handleAddOffsetsToTxn,
  [API_KEYS.endTxn]: handleEndTxn,
  [API_KEYS.writeTxnMarkers]: handleWriteTxnMarkers,
  [API_KEYS.txnOffsetCommit]: handleTxnOffsetCommit,
  [API_KEYS.describeTransactions]: handleDescribeTransactions,
  [API_KEYS.listTransactions]: handleListTransactions,
  [API_KEYS.describeConfigs]: handleDescribeConfigs,
  [API_KEYS.deleteGroups]: handleDeleteGroups,
  [API_KEYS.consumerGroupHeartbeat]: handleConsumerGroupHeartbeat,
  [API_KEYS.consumerGroupDescribe]: handleConsumerGroupDescribe,
  [API_KEYS.raftMessages]: handleRaftMessages,
  [API_KEYS.alterPartition]: handleAlterPartition,
  [API_KEYS.brokerRegistration]: handleBrokerRegistration,
});

export function handlerFor<K extends ApiKey>(apiKey: K): Handler<K> {
  return HANDLERS[apiKey] as Handler<K>;
}
