/**
 * Numeric api keys. They follow Kafka's numbering where Kafka has the API, so logs and metrics read the
 * same; a key is never reused for another API.
 */
export const API_KEYS = {
  produce: 0,
  fetch: 1,
  listOffsets: 2,
  metadata: 3,
  offsetCommit: 8,
  offsetFetch: 9,
  findCoordinator: 10,
  listGroups: 16,
  apiVersions: 18,
  createTopics: 19,
  deleteTopics: 20,
  initProducerId: 22,
  addPartitionsToTxn: 24,
  addOffsetsToTxn: 25,
  endTxn: 26,
  writeTxnMarkers: 27,
  txnOffsetCommit: 28,
  describeConfigs: 32,
  deleteGroups: 42,
  alterPartition: 56,
  describeTransactions: 65,
  listTransactions: 66,
  consumerGroupHeartbeat: 68,
  consumerGroupDescribe: 69,
  /** Strata's own inter-broker APIs are numbered from 1000, so they never meet a Kafka key. */
  raftMessages: 1000,
  brokerRegistration: 1001,
} as const;

export type ApiName = keyof typeof API_KEYS;
export type ApiKey = (typeof API_KEYS)[ApiName];
