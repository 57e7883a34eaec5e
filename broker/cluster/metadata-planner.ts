/**
 * The controller's checks of admin requests against the metadata image: each plan either returns
 * the one record to propose to `__cluster_metadata`, or the Kafka error to answer with. Nothing is
 * changed here; the image changes only when the record is committed and applied, on every broker
 * alike. (A record the image then refuses — a race between two proposals — is ignored by `apply`.)
 *
 * Rules, in the order they are checked (the first failure is the answer):
 * - create: an internal topic is INVALID_REQUEST (the controller creates those itself,
 *   `planInternalTopics`); a bad name INVALID_TOPIC_EXCEPTION (`topic-name.ts`); an existing one
 *   TOPIC_ALREADY_EXISTS; at `MAX_TOPICS` topics INVALID_REQUEST; partitions outside 1 to
 *   `MAX_PARTITIONS_PER_TOPIC` INVALID_PARTITIONS; a replication factor (-1 = the default) outside 1
 *   to `REPLICATION_FACTOR_MAX`, above the registered brokers, or above the live ones among them,
 *   INVALID_REPLICATION_FACTOR (Kafka's KRaft controller places only on unfenced brokers too);
 *   configs that `topic-config.ts` refuses, alone or over the broker's defaults, INVALID_CONFIG.
 *   Replicas are placed over the live registered brokers by `replica-placement.ts`, starting where
 *   the topics already placed left off, so preferred leaders spread across topics too.
 * - delete: an internal topic is INVALID_REQUEST; an unknown one (or one whose id is not the id
 *   asked for) UNKNOWN_TOPIC_OR_PARTITION.
 * - set configs (Kafka's IncrementalAlterConfigs: keys to set, keys to remove): unknown topic
 *   UNKNOWN_TOPIC_OR_PARTITION; internal topic INVALID_REQUEST (its configs are the broker's); a key
 *   both set and removed INVALID_REQUEST; an unknown key or a bad value INVALID_CONFIG. The record
 *   carries the topic's complete overrides after the change.
 * - partition leader report (AlterPartition): unknown topic, topic id or partition
 *   UNKNOWN_TOPIC_OR_PARTITION; a reporter that is not a replica, or an ISR that names a non-replica
 *   or lacks the reporter, INVALID_REQUEST; an epoch below the recorded one FENCED_LEADER_EPOCH.
 *   A report equal to what the image holds plans no record.
 *
 * Pure functions: the new topic id comes from the caller (`newTopicId`), liveness too.
 */
import { StrataError, type ErrorName } from '../../client/protocol/index.js';
import { OFFSETS_TOPIC_CONFIGS } from '../group/offsets-topic.js';
import { isInternalTopic, OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC } from '../internal-topics.js';
import { TRANSACTION_STATE_TOPIC_CONFIGS } from '../txn/transaction-state-topic.js';
import { MAX_PARTITIONS_PER_TOPIC, MAX_TOPICS, OFFSETS_TOPIC_REPLICATION_FACTOR_DEFAULT, REPLICATION_FACTOR_MAX } from '../limits.js';
import { parseTopicConfigs, TOPIC_CONFIG_KEYS, toLogConfig, type TopicConfigs } from '../topic-config.js';
import { topicNameProblem } from '../topic-name.js';
import type { MetadataImage } from './metadata-image.js';
import { checkMetadataRecord, type MetadataRecord } from './metadata-records.js';
import { placeReplicas } from './replica-placement.js';

export interface PlanError {
  readonly name: ErrorName;
  readonly message: string;
}

export type Plan = { readonly record: MetadataRecord } | { readonly error: PlanError };

export interface TopicCreation {
  readonly name: string;
  readonly partitions: number;
  /** -1 for the cluster's default. */
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
}

export interface TopicCreationOptions {
  /** Brokers the controller currently hears from; only registered ones count. */
  readonly liveBrokers: readonly number[];
  readonly defaultReplicationFactor: number;
  /** The broker's default topic configs, under the topic's overrides. */
  readonly defaultConfigs: TopicConfigs;
  readonly newTopicId: () => string;
}

export interface TopicDeletion {
  readonly name: string;
  /** When given, the topic is deleted only if it still has this id. */
  readonly topicId?: string;
}

export interface TopicConfigChange {
  readonly name: string;
  readonly set: Readonly<Record<string, string>>;
  readonly remove: readonly string[];
}

export interface InternalTopicsOptions {
  /** The voters of `__cluster_metadata`: internal topics wait until this many brokers registered. */
  readonly voterCount: number;
  readonly offsetsTopicPartitions: number;
  readonly transactionStateTopicPartitions: number;
  readonly defaultConfigs: TopicConfigs;
  readonly newTopicId: () => string;
}

export function planCreateTopic(image: MetadataImage, request: TopicCreation, options: TopicCreationOptions): Plan {
  if (isInternalTopic(request.name)) {
    return refuse('INVALID_REQUEST', `'${request.name}' is an internal topic; the controller creates it once the cluster has formed`);
  }
  const problem = topicNameProblem(request.name);
  if (problem !== undefined) return refuse('INVALID_TOPIC_EXCEPTION', problem);
  if (image.topic(request.name) !== undefined) return refuse('TOPIC_ALREADY_EXISTS', `topic '${request.name}' already exists`);
  if (image.topicCount >= MAX_TOPICS) return refuse('INVALID_REQUEST', `the cluster holds its limit of ${MAX_TOPICS} topics`);
  if (!Number.isSafeInteger(request.partitions) || request.partitions < 1 || request.partitions > MAX_PARTITIONS_PER_TOPIC) {
    return refuse('INVALID_PARTITIONS', `partitions must be from 1 to ${MAX_PARTITIONS_PER_TOPIC}, got ${request.partitions}`);
  }
  const replicationFactor = request.replicationFactor === -1 ? options.defaultReplicationFactor : request.replicationFactor;
  if (!Number.isSafeInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > REPLICATION_FACTOR_MAX) {
    return refuse('INVALID_REPLICATION_FACTOR', `replication factor must be from 1 to ${REPLICATION_FACTOR_MAX} (or -1 for the default), got ${replicationFactor}`);
  }
  const registered = image.brokers().map((b) => b.nodeId);
  if (replicationFactor > registered.length) {
    return refuse('INVALID_REPLICATION_FACTOR', `replication factor ${replicationFactor} is larger than the ${registered.length} registered brokers`);
  }
  // A partition is writable once a majority of its replicas is up: with fewer live brokers than
  // replicas, the live ones take the first replicas (the preferred leaders) and the rest go to
  // brokers that are down, which catch up when they return. Below a majority nothing could be written.
  const live = registered.filter((id) => options.liveBrokers.includes(id));
  const majority = Math.floor(replicationFactor / 2) + 1;
  if (live.length < majority) {
    return refuse(
      'INVALID_REPLICATION_FACTOR',
      `replication factor ${replicationFactor} needs a majority of ${majority} live brokers; only ${live.length} of the ${registered.length} registered brokers are live (${live.join(', ') || 'none'})`,
    );
  }
  let configs: TopicConfigs;
  try {
    configs = parseTopicConfigs(request.configs);
    toLogConfig(configs, options.defaultConfigs);
  } catch (error) {
    return refusal(error);
  }
  const start = partitionsPlaced(image);
  const down = registered.filter((id) => !live.includes(id));
  const placement = placeReplicas(live, request.partitions, Math.min(replicationFactor, live.length), start).map((replicas, p) => {
    for (let j = 0; replicas.length < replicationFactor; j++) replicas.push(down[(p + start + j) % down.length]!);
    return replicas;
  });
  return { record: createTopicRecord(image, request.name, placement, configs, options.newTopicId) };
}

export function planDeleteTopic(image: MetadataImage, request: TopicDeletion): Plan {
  if (isInternalTopic(request.name)) return refuse('INVALID_REQUEST', `'${request.name}' is an internal topic and cannot be deleted`);
  const topic = image.topic(request.name);
  if (topic === undefined) return refuse('UNKNOWN_TOPIC_OR_PARTITION', `topic '${request.name}' does not exist`);
  if (request.topicId !== undefined && request.topicId !== topic.topicId) {
    return refuse('UNKNOWN_TOPIC_OR_PARTITION', `topic '${request.name}' has id ${topic.topicId}, not ${request.topicId}`);
  }
  return { record: checkMetadataRecord({ type: 'delete-topic', name: topic.name, topicId: topic.topicId }, 'planned delete-topic') };
}

export function planSetTopicConfigs(image: MetadataImage, request: TopicConfigChange, options: { readonly defaultConfigs: TopicConfigs }): Plan {
  const topic = image.topic(request.name);
  if (topic === undefined) return refuse('UNKNOWN_TOPIC_OR_PARTITION', `topic '${request.name}' does not exist`);
  if (isInternalTopic(request.name)) return refuse('INVALID_REQUEST', `'${request.name}' is an internal topic; its configs are the broker's`);
  const both = request.remove.filter((key) => Object.hasOwn(request.set, key));
  if (both.length > 0) return refuse('INVALID_REQUEST', `topic config '${both[0]}' is both set and removed`);
  const unknown = request.remove.filter((key) => !TOPIC_CONFIG_KEYS.includes(key));
  if (unknown.length > 0) return refuse('INVALID_CONFIG', `unknown topic config '${unknown[0]}'; known keys: ${TOPIC_CONFIG_KEYS.join(', ')}`);
  let configs: TopicConfigs;
  try {
    const merged: Record<string, string> = { ...topic.configs, ...parseTopicConfigs(request.set) };
    for (const key of request.remove) delete merged[key];
    configs = parseTopicConfigs(merged);
    toLogConfig(configs, options.defaultConfigs);
  } catch (error) {
    return refusal(error);
  }
  return { record: checkMetadataRecord({ type: 'set-topic-configs', name: topic.name, topicId: topic.topicId, configs }, 'planned set-topic-configs') };
}

export interface PartitionLeaderReport {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
}

/** The change-partition-leader record for a leader's report; `{ record: undefined }` when the image already holds it. */
export function planPartitionLeader(image: MetadataImage, report: PartitionLeaderReport): Plan | { readonly record: undefined } {
  const { topic: name, topicId, partition, leader, leaderEpoch } = report;
  const topic = image.topic(name);
  if (topic === undefined || topic.topicId !== topicId) return refuse('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' with id ${topicId} does not exist`);
  const replicas = topic.partitions[partition]?.replicas;
  if (replicas === undefined) return refuse('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' has no partition ${partition}`);
  if (!replicas.includes(leader)) return refuse('INVALID_REQUEST', `node ${leader} is not a replica of ${name}-${partition} (${replicas.join(',')})`);
  const isr = [...new Set(report.isr)].sort((a, b) => a - b);
  if (!isr.includes(leader) || isr.some((id) => !replicas.includes(id))) {
    return refuse('INVALID_REQUEST', `in-sync replicas [${isr.join(',')}] of ${name}-${partition} must hold the leader ${leader} and only replicas (${replicas.join(',')})`);
  }
  const current = image.partitionLeader(name, partition);
  if (current !== undefined && leaderEpoch < current.leaderEpoch) {
    return refuse('FENCED_LEADER_EPOCH', `${name}-${partition} is at leader epoch ${current.leaderEpoch}; the report is for ${leaderEpoch}`);
  }
  if (current !== undefined && current.leader === leader && current.leaderEpoch === leaderEpoch && current.isr.join() === isr.join()) return { record: undefined };
  try {
    return { record: checkMetadataRecord({ type: 'change-partition-leader', name, topicId, partition, leader, leaderEpoch, isr }, 'planned change-partition-leader') };
  } catch (error) {
    return refuse('INVALID_REQUEST', (error as Error).message);
  }
}

/**
 * The create-topic records of the internal topics that do not exist yet (`__consumer_offsets`,
 * `__transaction_state`), once as many brokers registered as there are voters: creating them earlier
 * would place every partition on the first broker up. Their replication factor is min(3, registered
 * brokers); they are placed over every registered broker, as all of them just announced themselves.
 * Throws StrataError INVALID_CONFIG if the broker's default configs conflict with a topic's own (a
 * broker misconfiguration, not a request to answer).
 */
export function planInternalTopics(image: MetadataImage, options: InternalTopicsOptions): MetadataRecord[] {
  if (!Number.isSafeInteger(options.voterCount) || options.voterCount < 1) throw new RangeError(`voterCount must be a positive integer, got ${options.voterCount}`);
  const registered = image.brokers().map((b) => b.nodeId);
  if (registered.length < options.voterCount) return [];
  const replicationFactor = Math.min(OFFSETS_TOPIC_REPLICATION_FACTOR_DEFAULT, registered.length);
  const wanted: Array<{ name: string; partitions: number; configs: Readonly<Record<string, string>> }> = [
    { name: OFFSETS_TOPIC, partitions: options.offsetsTopicPartitions, configs: OFFSETS_TOPIC_CONFIGS },
    { name: TRANSACTION_STATE_TOPIC, partitions: options.transactionStateTopicPartitions, configs: TRANSACTION_STATE_TOPIC_CONFIGS },
  ];
  let placed = partitionsPlaced(image);
  const records: MetadataRecord[] = [];
  for (const topic of wanted) {
    if (image.topic(topic.name) !== undefined) continue;
    const configs = parseTopicConfigs(topic.configs);
    toLogConfig(configs, options.defaultConfigs);
    const placement = placeReplicas(registered, topic.partitions, replicationFactor, placed);
    placed += topic.partitions;
    records.push(createTopicRecord(image, topic.name, placement, configs, options.newTopicId));
  }
  return records;
}

function createTopicRecord(image: MetadataImage, name: string, placement: number[][], configs: TopicConfigs, newTopicId: () => string): MetadataRecord {
  const topicId = newTopicId();
  // A fresh id that is taken would make the create an ignored record; that is a broken id source.
  if (image.topicById(topicId) !== undefined) throw new Error(`newTopicId returned ${topicId}, which topic '${image.topicById(topicId)?.name}' holds`);
  return checkMetadataRecord({ type: 'create-topic', name, topicId, partitions: placement.map((replicas) => ({ replicas })), configs }, `planned create-topic '${name}'`);
}

/** The partitions of every topic: where the next topic's placement starts. */
function partitionsPlaced(image: MetadataImage): number {
  let count = 0;
  for (const topic of image.topics()) count += topic.partitions.length;
  return count;
}

function refuse(name: ErrorName, message: string): Plan {
  return { error: { name, message } };
}

/** A config check's StrataError as a refusal; anything else is a bug and is rethrown. */
function refusal(error: unknown): Plan {
  if (error instanceof StrataError) return refuse(error.errorName, error.message);
  throw error;
}
