/**
 * The numeric registry: api key -> the API's definition (name, versions, schema, body codecs), and the
 * type map from key to request and response body types. Adding an API means one file in `apis/`, one
 * key in `api-keys.ts` and one line in each of the maps below; the compiler checks the rest.
 */
import type { ApiDefinition } from './api-definition.js';
import { API_KEYS, type ApiKey } from './api-keys.js';
import { ALTER_PARTITION_API, type AlterPartitionRequest, type AlterPartitionResponse } from './apis/alter-partition.js';
import { BROKER_REGISTRATION_API, type BrokerRegistrationRequest, type BrokerRegistrationResponse } from './apis/broker-registration.js';
import { API_VERSIONS_API, type ApiVersionsRequest, type ApiVersionsResponse } from './apis/api-versions.js';
import { CONSUMER_GROUP_DESCRIBE_API, type ConsumerGroupDescribeRequest, type ConsumerGroupDescribeResponse } from './apis/consumer-group-describe.js';
import { CONSUMER_GROUP_HEARTBEAT_API, type ConsumerGroupHeartbeatRequest, type ConsumerGroupHeartbeatResponse } from './apis/consumer-group-heartbeat.js';
import { CREATE_TOPICS_API, type CreateTopicsRequest, type CreateTopicsResponse } from './apis/create-topics.js';
import { DELETE_TOPICS_API, type DeleteTopicsRequest, type DeleteTopicsResponse } from './apis/delete-topics.js';
import { DESCRIBE_CONFIGS_API, type DescribeConfigsRequest, type DescribeConfigsResponse } from './apis/describe-configs.js';
import { DELETE_GROUPS_API, type DeleteGroupsRequest, type DeleteGroupsResponse } from './apis/delete-groups.js';
import { FETCH_API, type FetchRequest, type FetchResponse } from './apis/fetch.js';
import { INIT_PRODUCER_ID_API, type InitProducerIdRequest, type InitProducerIdResponse } from './apis/init-producer-id.js';
import { FIND_COORDINATOR_API, type FindCoordinatorRequest, type FindCoordinatorResponse } from './apis/find-coordinator.js';
import { LIST_GROUPS_API, type ListGroupsRequest, type ListGroupsResponse } from './apis/list-groups.js';
import { LIST_OFFSETS_API, type ListOffsetsRequest, type ListOffsetsResponse } from './apis/list-offsets.js';
import { METADATA_API, type MetadataRequest, type MetadataResponse } from './apis/metadata.js';
import { OFFSET_COMMIT_API, type OffsetCommitRequest, type OffsetCommitResponse } from './apis/offset-commit.js';
import { OFFSET_FETCH_API, type OffsetFetchRequest, type OffsetFetchResponse } from './apis/offset-fetch.js';
import { PRODUCE_API, type ProduceRequest, type ProduceResponse } from './apis/produce.js';
import { RAFT_MESSAGES_API, type RaftMessagesRequest, type RaftMessagesResponse } from './apis/raft-messages.js';
import { ADD_OFFSETS_TO_TXN_API, type AddOffsetsToTxnRequest, type AddOffsetsToTxnResponse } from './apis/add-offsets-to-txn.js';
import { ADD_PARTITIONS_TO_TXN_API, type AddPartitionsToTxnRequest, type AddPartitionsToTxnResponse } from './apis/add-partitions-to-txn.js';
import { DESCRIBE_TRANSACTIONS_API, type DescribeTransactionsRequest, type DescribeTransactionsResponse } from './apis/describe-transactions.js';
import { END_TXN_API, type EndTxnRequest, type EndTxnResponse } from './apis/end-txn.js';
import { LIST_TRANSACTIONS_API, type ListTransactionsRequest, type ListTransactionsResponse } from './apis/list-transactions.js';
import { TXN_OFFSET_COMMIT_API, type TxnOffsetCommitRequest, type TxnOffsetCommitResponse } from './apis/txn-offset-commit.js';
import { WRITE_TXN_MARKERS_API, type WriteTxnMarkersRequest, type WriteTxnMarkersResponse } from './apis/write-txn-markers.js';
import { Reader, Writer } from './message-codec.js';

export interface RequestTypes {
  0: ProduceRequest;
  1: FetchRequest;
  2: ListOffsetsRequest;
  3: MetadataRequest;
  8: OffsetCommitRequest;
  9: OffsetFetchRequest;
  10: FindCoordinatorRequest;
  16: ListGroupsRequest;
  18: ApiVersionsRequest;
  19: CreateTopicsRequest;
  20: DeleteTopicsRequest;
  22: InitProducerIdRequest;
  24: AddPartitionsToTxnRequest;
  25: AddOffsetsToTxnRequest;
  26: EndTxnRequest;
  27: WriteTxnMarkersRequest;
  28: TxnOffsetCommitRequest;
  32: DescribeConfigsRequest;
  42: DeleteGroupsRequest;
  56: AlterPartitionRequest;
  65: DescribeTransactionsRequest;
  66: ListTransactionsRequest;
  68: ConsumerGroupHeartbeatRequest;
  69: ConsumerGroupDescribeRequest;
  1000: RaftMessagesRequest;
  1001: BrokerRegistrationRequest;
}

export interface ResponseTypes {
  0: ProduceResponse;
  1: FetchResponse;
  2: ListOffsetsResponse;
  3: MetadataResponse;
  8: OffsetCommitResponse;
  9: OffsetFetchResponse;
  10: FindCoordinatorResponse;
  16: ListGroupsResponse;
  18: ApiVersionsResponse;
  19: CreateTopicsResponse;
  20: DeleteTopicsResponse;
  22: InitProducerIdResponse;
  24: AddPartitionsToTxnResponse;
  25: AddOffsetsToTxnResponse;
  26: EndTxnResponse;
  27: WriteTxnMarkersResponse;
  28: TxnOffsetCommitResponse;
  32: DescribeConfigsResponse;
  42: DeleteGroupsResponse;
  56: AlterPartitionResponse;
  65: DescribeTransactionsResponse;
  66: ListTransactionsResponse;
  68: ConsumerGroupHeartbeatResponse;
  69: ConsumerGroupDescribeResponse;
  1000: RaftMessagesResponse;
  1001: BrokerRegistrationResponse;
}

export type RequestOf<K extends ApiKey> = RequestTypes[K];
export type ResponseOf<K extends ApiKey> = ResponseTypes[K];

export type ApiEntry<K extends ApiKey> = ApiDefinition<RequestOf<K>, ResponseOf<K>> & { readonly key: K };

export const API_REGISTRY: { readonly [K in ApiKey]: ApiEntry<K> } = Object.freeze({
  [API_KEYS.produce]: PRODUCE_API as ApiEntry<0>,
  [API_KEYS.fetch]: FETCH_API as ApiEntry<1>,
  [API_KEYS.listOffsets]: LIST_OFFSETS_API as ApiEntry<2>,
  [API_KEYS.metadata]: METADATA_API as ApiEntry<3>,
  [API_KEYS.offsetCommit]: OFFSET_COMMIT_API as ApiEntry<8>,
  [API_KEYS.offsetFetch]: OFFSET_FETCH_API as ApiEntry<9>,
  [API_KEYS.findCoordinator]: FIND_COORDINATOR_API as ApiEntry<10>,
  [API_KEYS.listGroups]: LIST_GROUPS_API as ApiEntry<16>,
  [API_KEYS.apiVersions]: API_VERSIONS_API as ApiEntry<18>,
  [API_KEYS.createTopics]: CREATE_TOPICS_API as ApiEntry<19>,
  [API_KEYS.deleteTopics]: DELETE_TOPICS_API as ApiEntry<20>,
  [API_KEYS.initProducerId]: INIT_PRODUCER_ID_API as ApiEntry<22>,
  [API_KEYS.addPartitionsToTxn]: ADD_PARTITIONS_TO_TXN_API as ApiEntry<24>,
  [API_KEYS.addOffsetsToTxn]: ADD_OFFSETS_TO_TXN_API as ApiEntry<25>,
  [API_KEYS.endTxn]: END_TXN_API as ApiEntry<26>,
  [API_KEYS.writeTxnMarkers]: WRITE_TXN_MARKERS_API as ApiEntry<27>,
  [API_KEYS.txnOffsetCommit]: TXN_OFFSET_COMMIT_API as ApiEntry<28>,
  [API_KEYS.describeConfigs]: DESCRIBE_CONFIGS_API as ApiEntry<32>,
  [API_KEYS.deleteGroups]: DELETE_GROUPS_API as ApiEntry<42>,
  [API_KEYS.alterPartition]: ALTER_PARTITION_API as ApiEntry<56>,
  [API_KEYS.describeTransactions]: DESCRIBE_TRANSACTIONS_API as ApiEntry<65>,
  [API_KEYS.listTransactions]: LIST_TRANSACTIONS_API as ApiEntry<66>,
  [API_KEYS.consumerGroupHeartbeat]: CONSUMER_GROUP_HEARTBEAT_API as ApiEntry<68>,
  [API_KEYS.consumerGroupDescribe]: CONSUMER_GROUP_DESCRIBE_API as ApiEntry<69>,
  [API_KEYS.raftMessages]: RAFT_MESSAGES_API as ApiEntry<1000>,
  [API_KEYS.brokerRegistration]: BROKER_REGISTRATION_API as ApiEntry<1001>,
});

/** Every registered key, ascending. */
export const API_KEY_LIST: readonly ApiKey[] = Object.freeze(
  Object.values(API_KEYS).slice().sort((a, b) => a - b),
);

export function isApiKey(value: number): value is ApiKey {
  return Object.hasOwn(API_REGISTRY, value);
}

export function isSupportedVersion(apiKey: number, apiVersion: number): boolean {
  if (!isApiKey(apiKey)) return false;
  const api = API_REGISTRY[apiKey];
  return Number.isInteger(apiVersion) && apiVersion >= api.minVersion && apiVersion <= api.maxVersion;
}

/** The body of an ApiVersions response describing this registry (what a broker built from it serves). */
export function apiVersionsOfRegistry(): ApiVersionsResponse {
  return {
    apis: API_KEY_LIST.map((apiKey) => {
      const api = API_REGISTRY[apiKey];
      return { apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion };
    }),
  };
}

function api<K extends ApiKey>(apiKey: K): ApiEntry<K> {
  return API_REGISTRY[apiKey] as ApiEntry<K>;
}

// Body codecs on their own (no frame, no header). Decoding throws protobufjs's errors; frame.ts wraps
// them in ProtocolError.

export function encodeRequestBody<K extends ApiKey>(apiKey: K, body: RequestOf<K>): Buffer {
  const writer = Writer.create();
  api(apiKey).request.encode(body, writer);
  return writer.finish() as Buffer;
}

export function decodeRequestBody<K extends ApiKey>(apiKey: K, bytes: Buffer): RequestOf<K> {
  return api(apiKey).request.decode(Reader.create(bytes));
}

export function encodeResponseBody<K extends ApiKey>(apiKey: K, body: ResponseOf<K>): Buffer {
  const writer = Writer.create();
  api(apiKey).response.encode(body, writer);
  return writer.finish() as Buffer;
}

export function decodeResponseBody<K extends ApiKey>(apiKey: K, bytes: Buffer): ResponseOf<K> {
  return api(apiKey).response.decode(Reader.create(bytes));
}
