/**
 * The cluster metadata as of an offset of `__cluster_metadata`: the registered brokers (node id →
 * addresses), the topics (name → topic id, partitions with their replicas, config overrides) and
 * each partition's leader as it last reported itself (leader, leader epoch, in-sync replicas).
 * Every broker applies the committed records of the log, in offset order, to its own image; the
 * controller checks admin requests against it (`metadata-planner.ts`).
 *
 * Invariants:
 * - `apply` is deterministic: the same records at the same offsets give the same image on every
 *   broker. A record that contradicts the image (a create of a name that exists, a delete or config
 *   change naming an unknown topic or another topic id) changes nothing and returns why: the log
 *   is the truth, so apply never throws on its content, and every broker ignores it alike.
 * - Offsets only grow: applying at or below `appliedOffset` is a programmer error (asserted). An
 *   ignored record still advances `appliedOffset`; offsets may skip (control batches hold none).
 * - Topic names and topic ids are each unique; every value handed out is frozen.
 * - A replica may name a broker that has not registered (yet): registration and placement are
 *   separate records, and a migrated data dir names its own node before it registers.
 * - A partition's reported leader is one of its replicas, its in-sync replicas a subset of them
 *   holding the leader, and its leader epoch never goes back (an older report is ignored).
 *
 * Snapshot (`toSnapshot`, `fromSnapshot`), UTF-8 JSON, brokers sorted by node id and topics by name
 * so equal images give equal bytes; read back with the same checks as the log's records:
 *
 * ```
 * {"version":2,"appliedOffset":N,
 *  "brokers":[{"nodeId","host","port","httpHost","httpPort"}, …],
 *  "topics":[{"name","topicId","partitions":[{"replicas":[…]}, …],"configs":{…}}, …],
 *  "leaders":[{"name","topicId","partition","leader","leaderEpoch","isr":[…]}, …]}
 * ```
 * (version 1, before leaders were reported, has no "leaders" and is still read.)
 *
 * Concurrency: one thread; the owner applies records and readers read between applies.
 */
import { invariant } from '../invariant.js';
import type { TopicConfigs } from '../topic-config.js';
import {
  checkMetadataRecord,
  MetadataRecordError,
  type BrokerRegistration,
  type ChangePartitionLeaderRecord,
  type CreateTopicRecord,
  type MetadataRecord,
  type PartitionAssignment,
  type RegisterBrokerRecord,
} from './metadata-records.js';

export const METADATA_SNAPSHOT_VERSION = 2;

export interface TopicImage {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: readonly PartitionAssignment[];
  readonly configs: TopicConfigs;
}

/** A partition of a topic with its replicas, as `replicasOn` lists them. */
export interface HostedPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly replicas: readonly number[];
}

/** A partition's leader as it last reported itself. */
export interface PartitionLeader {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
}

export type ApplyOutcome = { readonly applied: true } | { readonly applied: false; readonly reason: string };

const APPLIED: ApplyOutcome = Object.freeze({ applied: true });

export class MetadataImage {
  private readonly brokersById = new Map<number, BrokerRegistration>();
  private readonly topicsByName = new Map<string, TopicImage>();
  private readonly topicNamesById = new Map<string, string>();
  /** By topic id, then partition index. */
  private readonly leadersByTopicId = new Map<string, Map<number, PartitionLeader>>();
  private offset = -1;

  /** The offset of the last record applied; -1 for an empty image. */
  get appliedOffset(): number {
    return this.offset;
  }

  /** Applies the record at `offset`; a record contradicting the image is ignored, with the reason. */
  apply(record: MetadataRecord, offset: number): ApplyOutcome {
    invariant(Number.isSafeInteger(offset) && offset > this.offset, () => `metadata offset ${offset} applied after ${this.offset}; offsets must grow`);
    this.offset = offset;
    switch (record.type) {
      case 'register-broker':
        this.brokersById.set(record.nodeId, registrationOf(record));
        return APPLIED;
      case 'create-topic': {
        const existing = this.topicsByName.get(record.name);
        if (existing !== undefined) return ignored(`topic '${record.name}' already exists with id ${existing.topicId}`);
        const holder = this.topicNamesById.get(record.topicId);
        if (holder !== undefined) return ignored(`topic id ${record.topicId} already belongs to topic '${holder}'`);
        this.addTopic(topicOf(record));
        return APPLIED;
      }
      case 'delete-topic': {
        const problem = this.topicMismatch(record.name, record.topicId);
        if (problem !== undefined) return ignored(problem);
        this.topicsByName.delete(record.name);
        this.topicNamesById.delete(record.topicId);
        this.leadersByTopicId.delete(record.topicId);
        return APPLIED;
      }
      case 'set-topic-configs': {
        const problem = this.topicMismatch(record.name, record.topicId);
        if (problem !== undefined) return ignored(problem);
        const topic = this.topicsByName.get(record.name) as TopicImage;
        this.topicsByName.set(record.name, Object.freeze({ ...topic, configs: Object.freeze({ ...record.configs }) }));
        return APPLIED;
      }
      case 'change-partition-leader': {
        const problem = this.topicMismatch(record.name, record.topicId) ?? this.leaderMismatch(record);
        if (problem !== undefined) return ignored(problem);
        this.setLeader(record);
        return APPLIED;
      }
    }
  }

  /** A partition's leader as it last reported itself, or undefined before any report. */
  partitionLeader(topic: string, index: number): PartitionLeader | undefined {
    const topicId = this.topicsByName.get(topic)?.topicId;
    return topicId === undefined ? undefined : this.leadersByTopicId.get(topicId)?.get(index);
  }

  /** Registered brokers by node id. */
  brokers(): BrokerRegistration[] {
    return [...this.brokersById.values()].sort((a, b) => a.nodeId - b.nodeId);
  }

  broker(nodeId: number): BrokerRegistration | undefined {
    return this.brokersById.get(nodeId);
  }

  /** Topics by name. */
  topics(): TopicImage[] {
    return [...this.topicsByName.values()].sort((a, b) => compareStrings(a.name, b.name));
  }

  get topicCount(): number {
    return this.topicsByName.size;
  }

  topic(name: string): TopicImage | undefined {
    return this.topicsByName.get(name);
  }

  topicById(topicId: string): TopicImage | undefined {
    const name = this.topicNamesById.get(topicId);
    return name === undefined ? undefined : this.topicsByName.get(name);
  }

  /** The replicas of a partition (the first is the preferred leader), or undefined if there is no such partition. */
  partitionReplicas(topic: string, index: number): readonly number[] | undefined {
    return this.topicsByName.get(topic)?.partitions[index]?.replicas;
  }

  /** Every partition that has `nodeId` among its replicas, by topic name then partition. */
  replicasOn(nodeId: number): HostedPartition[] {
    const hosted: HostedPartition[] = [];
    for (const topic of this.topics()) {
      topic.partitions.forEach(({ replicas }, partition) => {
        if (replicas.includes(nodeId)) hosted.push(Object.freeze({ topic: topic.name, topicId: topic.topicId, partition, replicas }));
      });
    }
    return hosted;
  }

  toSnapshot(): Uint8Array {
    const leaders = this.topics().flatMap(({ name, topicId }) =>
      [...(this.leadersByTopicId.get(topicId) ?? new Map<number, PartitionLeader>())]
        .sort(([a], [b]) => a - b)
        .map(([partition, { leader, leaderEpoch, isr }]) => ({ name, topicId, partition, leader, leaderEpoch, isr })),
    );
    const snapshot = {
      version: METADATA_SNAPSHOT_VERSION,
      appliedOffset: this.offset,
      brokers: this.brokers(),
      topics: this.topics(),
      leaders,
    };
    return new TextEncoder().encode(JSON.stringify(snapshot));
  }

  /** Reads a snapshot back; every broker and topic is checked as a record would be. Throws MetadataRecordError. */
  static fromSnapshot(bytes: Uint8Array): MetadataImage {
    const fail = (what: string): never => {
      throw new MetadataRecordError(`metadata snapshot: ${what}`);
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (error) {
      return fail(`is not UTF-8 JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('is not an object');
    const { version, appliedOffset, brokers, topics, leaders = [], ...rest } = parsed as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) fail(`unknown field(s) ${unknown.join(', ')}`);
    if (version !== METADATA_SNAPSHOT_VERSION && version !== 1) fail(`unsupported version ${JSON.stringify(version)}, expected 1 or ${METADATA_SNAPSHOT_VERSION}`);
    if (version === 1 && Object.hasOwn(parsed as object, 'leaders')) fail('a version 1 snapshot has no "leaders"');
    if (typeof appliedOffset !== 'number' || !Number.isSafeInteger(appliedOffset) || appliedOffset < -1) fail(`bad appliedOffset ${JSON.stringify(appliedOffset)}`);
    if (!Array.isArray(brokers)) return fail('"brokers" is not an array');
    if (!Array.isArray(topics)) return fail('"topics" is not an array');
    if (!Array.isArray(leaders)) return fail('"leaders" is not an array');
    const image = new MetadataImage();
    brokers.forEach((raw: unknown, i) => {
      const where = `metadata snapshot broker ${i}`;
      const record = checkMetadataRecord(withType('register-broker', raw, where), where) as RegisterBrokerRecord;
      if (image.brokersById.has(record.nodeId)) fail(`broker ${record.nodeId} appears twice`);
      image.brokersById.set(record.nodeId, registrationOf(record));
    });
    topics.forEach((raw: unknown, i) => {
      const where = `metadata snapshot topic ${i}`;
      const record = checkMetadataRecord(withType('create-topic', raw, where), where) as CreateTopicRecord;
      if (image.topicsByName.has(record.name)) fail(`topic '${record.name}' appears twice`);
      if (image.topicNamesById.has(record.topicId)) fail(`topic id ${record.topicId} appears twice`);
      image.addTopic(topicOf(record));
    });
    leaders.forEach((raw: unknown, i) => {
      const where = `metadata snapshot leader ${i}`;
      const record = checkMetadataRecord(withType('change-partition-leader', raw, where), where) as ChangePartitionLeaderRecord;
      const problem = image.topicMismatch(record.name, record.topicId) ?? image.leaderMismatch(record);
      if (problem !== undefined) fail(`leader ${i}: ${problem}`);
      if (image.leadersByTopicId.get(record.topicId)?.has(record.partition) === true) fail(`partition ${record.partition} of '${record.name}' has two leaders`);
      image.setLeader(record);
    });
    image.offset = appliedOffset as number;
    return image;
  }

  private addTopic(topic: TopicImage): void {
    this.topicsByName.set(topic.name, topic);
    this.topicNamesById.set(topic.topicId, topic.name);
  }

  /** Why a leader report cannot stand against the image's topic (which must exist), or undefined. */
  private leaderMismatch(record: ChangePartitionLeaderRecord): string | undefined {
    const { name, partition, leader, leaderEpoch, isr } = record;
    const replicas = this.topicsByName.get(name)!.partitions[partition]?.replicas;
    if (replicas === undefined) return `topic '${name}' has no partition ${partition}`;
    if (!replicas.includes(leader)) return `node ${leader} is not a replica of ${name}-${partition} (${replicas.join(',')})`;
    const outside = isr.filter((id) => !replicas.includes(id));
    if (outside.length > 0) return `in-sync replicas ${outside.join(',')} of ${name}-${partition} are not among its replicas (${replicas.join(',')})`;
    const current = this.leadersByTopicId.get(record.topicId)?.get(partition);
    if (current !== undefined && leaderEpoch < current.leaderEpoch) return `${name}-${partition} is at leader epoch ${current.leaderEpoch}, the report is for ${leaderEpoch}`;
    return undefined;
  }

  private setLeader(record: ChangePartitionLeaderRecord): void {
    let partitions = this.leadersByTopicId.get(record.topicId);
    if (partitions === undefined) this.leadersByTopicId.set(record.topicId, (partitions = new Map()));
    partitions.set(record.partition, Object.freeze({ leader: record.leader, leaderEpoch: record.leaderEpoch, isr: Object.freeze([...record.isr]) }));
  }

  /** Why a record naming (`name`, `topicId`) does not match a topic of the image, or undefined. */
  private topicMismatch(name: string, topicId: string): string | undefined {
    const topic = this.topicsByName.get(name);
    if (topic === undefined) return `topic '${name}' does not exist`;
    if (topic.topicId !== topicId) return `topic '${name}' has id ${topic.topicId}, not ${topicId}`;
    return undefined;
  }
}

function ignored(reason: string): ApplyOutcome {
  return Object.freeze({ applied: false, reason });
}

/** A snapshot entry is a record's fields without its type (anything but an object is left for the check to refuse). */
function withType(type: MetadataRecord['type'], raw: unknown, where: string): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  if (Object.hasOwn(raw, 'type')) throw new MetadataRecordError(`${where}: has a field 'type'`);
  return { type, ...raw };
}

function registrationOf(record: RegisterBrokerRecord): BrokerRegistration {
  const { nodeId, host, port, httpHost, httpPort } = record;
  return Object.freeze({ nodeId, host, port, httpHost, httpPort });
}

function topicOf(record: CreateTopicRecord): TopicImage {
  return Object.freeze({
    name: record.name,
    topicId: record.topicId,
    partitions: Object.freeze(record.partitions.map((p) => Object.freeze({ replicas: Object.freeze([...p.replicas]) }))),
    configs: Object.freeze({ ...record.configs }),
  });
}

/** Code-unit order, the same on every broker whatever its locale. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
