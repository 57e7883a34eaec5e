/**
 * Strata's wire protocol: the only file of `client/protocol` that other folders import. The broker
 * uses the frame codec, FrameReader and error table; the client library uses Connection.
 */
export { API_KEYS, type ApiKey, type ApiName } from './api-keys.js';
export type { ApiDefinition } from './api-definition.js';
export {
  API_KEY_LIST,
  API_REGISTRY,
  apiVersionsOfRegistry,
  decodeRequestBody,
  decodeResponseBody,
  encodeRequestBody,
  encodeResponseBody,
  isApiKey,
  isSupportedVersion,
  type ApiEntry,
  type RequestOf,
  type RequestTypes,
  type ResponseOf,
  type ResponseTypes,
} from './api-registry.js';
export { API_VERSIONS_SCHEMA, type ApiVersionsRequest, type ApiVersionsResponse } from './apis/api-versions.js';
export {
  CONSUMER_GROUP_DESCRIBE_SCHEMA,
  type ConsumerGroupDescribeRequest,
  type ConsumerGroupDescribeResponse,
  type DescribedGroup,
  type DescribedMember,
} from './apis/consumer-group-describe.js';
export {
  CONSUMER_GROUP_HEARTBEAT_SCHEMA,
  MEMBER_EPOCH_JOIN,
  MEMBER_EPOCH_LEAVE,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
  type TopicPartitions,
} from './apis/consumer-group-heartbeat.js';
export { CREATE_TOPICS_SCHEMA, type CreateTopicsRequest, type CreateTopicsResponse } from './apis/create-topics.js';
export { DELETE_TOPICS_SCHEMA, type DeleteTopicsRequest, type DeleteTopicsResponse } from './apis/delete-topics.js';
export { INIT_PRODUCER_ID_SCHEMA, type InitProducerIdRequest, type InitProducerIdResponse } from './apis/init-producer-id.js';
export { isInternalTopic, OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC } from './internal-topics.js';
export { DESCRIBE_CONFIGS_SCHEMA, type DescribeConfigsRequest, type DescribeConfigsResponse } from './apis/describe-configs.js';
export { DELETE_GROUPS_SCHEMA, type DeleteGroupsRequest, type DeleteGroupsResponse } from './apis/delete-groups.js';
export {
  FETCH_SCHEMA,
  ISOLATION_READ_COMMITTED,
  ISOLATION_READ_UNCOMMITTED,
  type AbortedTransaction,
  type FetchPartitionResult,
  type FetchRequest,
  type FetchResponse,
} from './apis/fetch.js';
export { ADD_OFFSETS_TO_TXN_SCHEMA, type AddOffsetsToTxnRequest, type AddOffsetsToTxnResponse } from './apis/add-offsets-to-txn.js';
export {
  ADD_PARTITIONS_TO_TXN_SCHEMA,
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnResponse,
  type TxnPartitionResult,
  type TxnTopicPartitions,
} from './apis/add-partitions-to-txn.js';
export {
  DESCRIBE_TRANSACTIONS_SCHEMA,
  type DescribedTransaction,
  type DescribeTransactionsRequest,
  type DescribeTransactionsResponse,
} from './apis/describe-transactions.js';
export { END_TXN_SCHEMA, type EndTxnRequest, type EndTxnResponse } from './apis/end-txn.js';
export { LIST_TRANSACTIONS_SCHEMA, type ListedTransaction, type ListTransactionsRequest, type ListTransactionsResponse } from './apis/list-transactions.js';
export { TXN_OFFSET_COMMIT_SCHEMA, type TxnOffsetCommitRequest, type TxnOffsetCommitResponse } from './apis/txn-offset-commit.js';
export { WRITE_TXN_MARKERS_SCHEMA, type TxnMarker, type WriteTxnMarkersRequest, type WriteTxnMarkersResponse } from './apis/write-txn-markers.js';
export {
  COORDINATOR_KEY_TYPE_GROUP,
  COORDINATOR_KEY_TYPE_TRANSACTION,
  FIND_COORDINATOR_SCHEMA,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  type FoundCoordinator,
} from './apis/find-coordinator.js';
export { LIST_GROUPS_SCHEMA, type ListedGroup, type ListGroupsRequest, type ListGroupsResponse } from './apis/list-groups.js';
export {
  ALTER_PARTITION_SCHEMA,
  type AlterPartitionRequest,
  type AlterPartitionResponse,
  type AlterPartitionResult,
  type AlterPartitionState,
} from './apis/alter-partition.js';
export { BROKER_REGISTRATION_SCHEMA, type BrokerRegistrationRequest, type BrokerRegistrationResponse } from './apis/broker-registration.js';
export {
  LIST_OFFSETS_EARLIEST,
  LIST_OFFSETS_LATEST,
  LIST_OFFSETS_SCHEMA,
  type ListOffsetsPartitionResult,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
} from './apis/list-offsets.js';
export {
  METADATA_SCHEMA,
  type MetadataBroker,
  type MetadataPartition,
  type MetadataRequest,
  type MetadataResponse,
  type MetadataTopic,
} from './apis/metadata.js';
export {
  OFFSET_COMMIT_SCHEMA,
  type OffsetCommitPartitionResult,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
} from './apis/offset-commit.js';
export {
  OFFSET_FETCH_SCHEMA,
  type CommittedPartitionOffset,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
} from './apis/offset-fetch.js';
export {
  RAFT_MESSAGES_SCHEMA,
  type RaftMessagesRequest,
  type RaftMessagesResponse,
  type RaftWireEntry,
  type RaftWireMessage,
} from './apis/raft-messages.js';
export { PRODUCE_SCHEMA, type ProducePartitionResult, type ProduceRequest, type ProduceResponse } from './apis/produce.js';
export {
  Connection,
  type CloseListener,
  type ConnectionOptions,
  type RequestOptions,
} from './connection.js';
export {
  ERRORS,
  errorByCode,
  errorByName,
  errorCodeOf,
  FrameTooLargeError,
  ProtocolError,
  StrataError,
  type ErrorInfo,
  type ErrorName,
  type StrataErrorOptions,
} from './errors.js';
export {
  decodeRequestFrame,
  decodeResponseFrame,
  encodeRequestFrame,
  encodeRequestFrameChunks,
  encodeResponseFrame,
  encodeResponseFrameChunks,
  HEADER_SCHEMA,
  peekResponseCorrelationId,
  RequestDecodeError,
  type DecodedRequest,
  type DecodedResponse,
  type RequestHeader,
  type ResponseHeader,
} from './frame.js';
export { FrameReader } from './frame-reader.js';
export {
  CLIENT_ID_MAX_CHARS,
  CONNECT_TIMEOUT_MS_DEFAULT,
  FRAME_LENGTH_BYTES,
  MAX_FRAME_BYTES_CEILING,
  MAX_FRAME_BYTES_DEFAULT,
  MAX_IN_FLIGHT_REQUESTS_DEFAULT,
  REQUEST_TIMEOUT_MS_DEFAULT,
} from './limits.js';
