/**
 * The records of the cluster metadata log (`__cluster_metadata`) and their encoding. Every entry of
 * that Raft log is one Kafka v2 record batch; each record in it is one metadata change:
 *
 * ```
 * key    the record type, UTF-8: "register-broker" | "create-topic" | "delete-topic" | "set-topic-configs" | "change-partition-leader"
 * value  a JSON document: {"version":1, ...the record's fields}   (never null, no headers)
 *
 * register-broker    {"version":1,"nodeId":1,"host":"10.0.0.1","port":7401,"httpHost":"10.0.0.1","httpPort":7481}
 * create-topic       {"version":1,"name":"orders","topicId":"<uuid>","partitions":[{"replicas":[1,2,3]},…],"configs":{…}}
 * delete-topic       {"version":1,"name":"orders","topicId":"<uuid>"}
 * set-topic-configs  {"version":1,"name":"orders","topicId":"<uuid>","configs":{…}}   (the complete overrides after the change)
 * change-partition-leader
 *                    {"version":1,"name":"orders","topicId":"<uuid>","partition":0,"leader":2,"leaderEpoch":5,"isr":[2,3]}
 * ```
 *
 * A partition's leader is elected by its own Raft group, not by the controller: the leader reports
 * itself (and its in-sync replicas) with `change-partition-leader`, so that brokers that do not host
 * the partition can name its leader too.
 *
 * Record i of a batch sits at offset baseOffset + i: the metadata log is never compacted, so its
 * offset deltas are 0..n-1 (decoding checks it).
 *
 * The log is the truth, but never trusted: decoding checks the batch (CRC, framing) and then every
 * field of every record — types, ranges (`limits.ts`), topic names (`topic-name.ts`), configs
 * (`topic-config.ts`), exact field sets — and throws `MetadataRecordError` naming the offset and
 * the field. Encoding runs the same checks first, so nothing is written that could not be read back.
 * A record of another version is refused, not guessed at: a newer writer bumps `version`.
 *
 * A control batch (the leader-change entry a new Raft leader appends) holds no metadata: decoding
 * returns no records for it.
 *
 * Pure functions: no state, no clock (the caller passes the batch timestamp).
 */
import { CONTROL_FLAG, decodeBatch, encodeBatch, type DecodedBatch } from '../../log/index.js';
import {
  BROKER_HOST_MAX_CHARS,
  MAX_PARTITIONS_PER_TOPIC,
  NODE_ID_MAX,
  REPLICATION_FACTOR_MAX,
  TOPIC_ID_MAX_CHARS,
} from '../limits.js';
import { parseTopicConfigs, type TopicConfigs } from '../topic-config.js';
import { topicNameProblem } from '../topic-name.js';

export const METADATA_RECORD_VERSION = 1;

/** Where a broker listens: its protocol address, and its HTTP address when it serves one. */
export interface BrokerRegistration {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly httpHost: string | null;
  readonly httpPort: number | null;
}

/** One partition's replicas; the first is the preferred leader. */
export interface PartitionAssignment {
  readonly replicas: readonly number[];
}

/** A broker (re)announcing its addresses at startup; the latest registration of a node id wins. */
export interface RegisterBrokerRecord extends BrokerRegistration {
  readonly type: 'register-broker';
}

export interface CreateTopicRecord {
  readonly type: 'create-topic';
  readonly name: string;
  readonly topicId: string;
  readonly partitions: readonly PartitionAssignment[];
  readonly configs: TopicConfigs;
}

export interface DeleteTopicRecord {
  readonly type: 'delete-topic';
  readonly name: string;
  readonly topicId: string;
}

/** Replaces a topic's config overrides with `configs` (the whole set, not a delta). */
export interface SetTopicConfigsRecord {
  readonly type: 'set-topic-configs';
  readonly name: string;
  readonly topicId: string;
  readonly configs: TopicConfigs;
}

/** A partition's Raft leader as it reported itself: `leaderEpoch` is its term; `isr` includes the leader. */
export interface ChangePartitionLeaderRecord {
  readonly type: 'change-partition-leader';
  readonly name: string;
  readonly topicId: string;
  readonly partition: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
}

export type MetadataRecord = RegisterBrokerRecord | CreateTopicRecord | DeleteTopicRecord | SetTopicConfigsRecord | ChangePartitionLeaderRecord;
export type MetadataRecordType = MetadataRecord['type'];

export class MetadataRecordError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MetadataRecordError';
  }
}

/** Each type's fields, in the order they are written. */
const FIELDS: { readonly [T in MetadataRecordType]: readonly string[] } = Object.freeze({
  'register-broker': Object.freeze(['nodeId', 'host', 'port', 'httpHost', 'httpPort']),
  'create-topic': Object.freeze(['name', 'topicId', 'partitions', 'configs']),
  'delete-topic': Object.freeze(['name', 'topicId']),
  'set-topic-configs': Object.freeze(['name', 'topicId', 'configs']),
  'change-partition-leader': Object.freeze(['name', 'topicId', 'partition', 'leader', 'leaderEpoch', 'isr']),
});

export const METADATA_RECORD_TYPES: readonly MetadataRecordType[] = Object.freeze(Object.keys(FIELDS) as MetadataRecordType[]);

/**
 * Encodes `records` as one record batch (offsets 0..n-1, every record stamped `now`), each record
 * checked first. Throws MetadataRecordError for an empty list or a malformed record.
 */
export function encodeMetadataBatch(records: readonly MetadataRecord[], now: number): Buffer {
  if (records.length === 0) throw new MetadataRecordError('a metadata batch holds at least one record');
  return encodeBatch(
    records.map((record, i) => {
      const { type, ...fields } = checkMetadataRecord(record, `metadata record ${i} to encode`);
      return { key: type, value: JSON.stringify({ version: METADATA_RECORD_VERSION, ...fields }), timestamp: now };
    }),
  );
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The records of one whole batch (`bytes` is exactly one batch, as one Raft entry holds): [] for a
 * control batch. Throws MetadataRecordError naming the offset and the field of the first problem.
 */
export function decodeMetadataBatch(bytes: Buffer): MetadataRecord[] {
  let batch: DecodedBatch;
  try {
    batch = decodeBatch(bytes);
  } catch (error) {
    throw new MetadataRecordError(`metadata batch is unreadable: ${(error as Error).message}`, { cause: error });
  }
  const { header } = batch;
  if (header.sizeBytes !== bytes.length) {
    throw new MetadataRecordError(`metadata batch at offset ${header.baseOffset} is ${header.sizeBytes} bytes but the entry holds ${bytes.length}`);
  }
  if ((header.attributes & CONTROL_FLAG) !== 0) return [];
  return batch.records.map((record, i) => {
    const where = `metadata record at offset ${record.offset}`;
    const fail = (what: string): never => {
      throw new MetadataRecordError(`${where}: ${what}`);
    };
    if (record.offset !== header.baseOffset + i) fail(`expected offset ${header.baseOffset + i} (offset deltas 0..n-1)`);
    if (record.key === null) fail('has no key (the record type)');
    if (record.value === null) fail('has no value');
    if (record.headers.length > 0) fail(`has ${record.headers.length} headers; metadata records have none`);
    let type: string;
    let value: unknown;
    try {
      type = utf8.decode(record.key as Buffer);
      value = JSON.parse(utf8.decode(record.value as Buffer));
    } catch (error) {
      return fail(`is not UTF-8 JSON: ${(error as Error).message}`);
    }
    if (!isPlainObject(value)) fail('value is not a JSON object');
    const { version, ...fields } = value as Record<string, unknown>;
    if (version !== METADATA_RECORD_VERSION) fail(`unsupported version ${JSON.stringify(version)}, expected ${METADATA_RECORD_VERSION}`);
    if (Object.hasOwn(fields, 'type')) fail("value has a field 'type'; the type is the key");
    return checkMetadataRecord({ type, ...fields }, where);
  });
}

/**
 * Checks that `raw` is a well-formed metadata record (exact field set, types, ranges, topic name,
 * configs) and returns a frozen copy of it. Throws MetadataRecordError prefixed with `where`. The
 * image's snapshot reads its brokers and topics through it too.
 */
export function checkMetadataRecord(raw: unknown, where: string): MetadataRecord {
  const fail = (what: string): never => {
    throw new MetadataRecordError(`${where}: ${what}`);
  };
  if (!isPlainObject(raw)) return fail('is not an object');
  const type = raw['type'];
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) return fail(`unknown record type ${JSON.stringify(type)}`);
  const fields = FIELDS[type as MetadataRecordType];
  for (const key of Object.keys(raw)) if (key !== 'type' && !fields.includes(key)) fail(`${type} has an unknown field '${key}'`);
  for (const key of fields) if (!Object.hasOwn(raw, key)) fail(`${type} lacks the field '${key}'`);
  const at = (field: string): string => `${where}: ${type} field '${field}'`;
  switch (type as MetadataRecordType) {
    case 'register-broker': {
      const httpHost = raw['httpHost'] === null ? null : checkHost(raw['httpHost'], at('httpHost'));
      const httpPort = raw['httpPort'] === null ? null : checkPort(raw['httpPort'], at('httpPort'));
      if ((httpHost === null) !== (httpPort === null)) fail('register-broker has an HTTP host without a port or a port without a host');
      return Object.freeze({
        type: 'register-broker',
        nodeId: checkNodeId(raw['nodeId'], at('nodeId')),
        host: checkHost(raw['host'], at('host')),
        port: checkPort(raw['port'], at('port')),
        httpHost,
        httpPort,
      });
    }
    case 'create-topic':
      return Object.freeze({
        type: 'create-topic',
        name: checkTopicName(raw['name'], at('name')),
        topicId: checkTopicId(raw['topicId'], at('topicId')),
        partitions: checkPartitions(raw['partitions'], at('partitions')),
        configs: checkConfigs(raw['configs'], at('configs')),
      });
    case 'delete-topic':
      return Object.freeze({
        type: 'delete-topic',
        name: checkTopicName(raw['name'], at('name')),
        topicId: checkTopicId(raw['topicId'], at('topicId')),
      });
    case 'set-topic-configs':
      return Object.freeze({
        type: 'set-topic-configs',
        name: checkTopicName(raw['name'], at('name')),
        topicId: checkTopicId(raw['topicId'], at('topicId')),
        configs: checkConfigs(raw['configs'], at('configs')),
      });
    case 'change-partition-leader': {
      const leader = checkNodeId(raw['leader'], at('leader'));
      const isr = checkReplicaList(raw['isr'], at('isr'));
      if (!isr.includes(leader)) fail(`change-partition-leader's isr ${JSON.stringify(isr)} lacks the leader ${leader}`);
      return Object.freeze({
        type: 'change-partition-leader',
        name: checkTopicName(raw['name'], at('name')),
        topicId: checkTopicId(raw['topicId'], at('topicId')),
        partition: checkInteger(raw['partition'], 0, MAX_PARTITIONS_PER_TOPIC - 1, at('partition')),
        leader,
        leaderEpoch: checkInteger(raw['leaderEpoch'], 0, 2 ** 31 - 1, at('leaderEpoch')),
        isr,
      });
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function bad(where: string, what: string): never {
  throw new MetadataRecordError(`${where} ${what}`);
}

function checkInteger(value: unknown, min: number, max: number, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    return bad(where, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkNodeId(value: unknown, where: string): number {
  return checkInteger(value, 0, NODE_ID_MAX, where);
}

function checkPort(value: unknown, where: string): number {
  return checkInteger(value, 1, 65535, where);
}

function checkHost(value: unknown, where: string): string {
  // Printable ASCII without spaces: a DNS name or an IP literal (IPv6 with its brackets or not).
  if (typeof value !== 'string' || value.length === 0 || value.length > BROKER_HOST_MAX_CHARS || !/^[\x21-\x7e]+$/.test(value)) {
    return bad(where, `must be a host name of 1 to ${BROKER_HOST_MAX_CHARS} printable characters, got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkTopicName(value: unknown, where: string): string {
  const problem = topicNameProblem(value);
  if (problem !== undefined) bad(where, `is not a valid topic name: ${problem}`);
  return value as string;
}

function checkTopicId(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > TOPIC_ID_MAX_CHARS || !/^[A-Za-z0-9_-]+$/.test(value)) {
    return bad(where, `must be 1 to ${TOPIC_ID_MAX_CHARS} characters of [A-Za-z0-9_-], got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkPartitions(value: unknown, where: string): readonly PartitionAssignment[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_PARTITIONS_PER_TOPIC) {
    return bad(where, `must be an array of 1 to ${MAX_PARTITIONS_PER_TOPIC} partitions`);
  }
  return Object.freeze(
    value.map((partition: unknown, index) => {
      const at = `${where} partition ${index}`;
      if (!isPlainObject(partition) || Object.keys(partition).length !== 1 || !Array.isArray(partition['replicas'])) {
        return bad(at, 'must be an object with exactly the field "replicas"');
      }
      return Object.freeze({ replicas: checkReplicaList(partition['replicas'], at) });
    }),
  );
}

/** 1 to REPLICATION_FACTOR_MAX distinct node ids. */
function checkReplicaList(value: unknown, where: string): readonly number[] {
  if (!Array.isArray(value)) return bad(where, 'must be an array of node ids');
  if (value.length === 0 || value.length > REPLICATION_FACTOR_MAX) bad(where, `must have 1 to ${REPLICATION_FACTOR_MAX} replicas, got ${value.length}`);
  const ids = value.map((id: unknown, i) => checkNodeId(id, `${where} replica ${i}`));
  if (new Set(ids).size !== ids.length) bad(where, `names a broker twice in its replicas ${JSON.stringify(ids)}`);
  return Object.freeze(ids);
}

function checkConfigs(value: unknown, where: string): TopicConfigs {
  if (!isPlainObject(value)) return bad(where, 'must be an object of strings');
  try {
    return parseTopicConfigs(value);
  } catch (error) {
    return bad(where, `is invalid: ${(error as Error).message}`);
  }
}
