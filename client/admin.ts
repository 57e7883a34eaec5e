/**
 * The admin client: topics and offsets. Topic changes go to the controller when the metadata names
 * one (any broker otherwise; Strata brokers forward or answer NOT_CONTROLLER, which is retried after
 * a metadata refresh). Offset queries go to each partition's leader.
 *
 * `createTopics` follows kafkajs: it resolves `true` when every topic was created, `false` when some
 * already existed (not an error), and rejects with the first other error; unless `validateOnly`, it
 * then waits until the metadata shows a leader for every new partition, so a producer created right
 * after it does not race the election.
 */
import type { Client } from './client.js';
import type { PartitionInfo } from './cluster-metadata.js';
import {
  API_KEYS,
  ERRORS,
  errorByCode,
  LIST_OFFSETS_EARLIEST,
  LIST_OFFSETS_LATEST,
  StrataError,
  type ApiKey,
  type ListOffsetsPartitionResult,
  type RequestOf,
  type ResponseOf,
} from './protocol/index.js';
import { sleep, withRetry } from './retry.js';

export interface ITopicConfig {
  topic: string;
  numPartitions: number;
  /** Default 1. */
  replicationFactor?: number;
  /** Kafka's names: `segment.bytes`, `retention.ms`, `cleanup.policy`, `flush.policy`... */
  configs?: { [name: string]: string };
}

export interface PartitionOffsets {
  partition: number;
  offset: number;
  /** The timestamp of the record at `offset` for a timestamp query; -1 otherwise or when none. */
  timestamp: number;
}

export interface PartitionDescription {
  partition: number;
  /** Node id of the leader; -1 when there is none. */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  logStartOffset: number;
  highWatermark: number;
  logEndOffset: number;
}

export interface TopicDescription {
  name: string;
  partitions: PartitionDescription[];
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class Admin {
  private readonly client: Client;
  private isClosed = false;

  constructor(client: Client) {
    this.client = client;
  }

  /** A topic-change request to the controller (or any broker), retried on retriable errors. */
  private async toController<K extends ApiKey>(apiKey: K, body: RequestOf<K>): Promise<ResponseOf<K>> {
    this.checkOpen();
    if (this.client.metadata.updatedMs === 0) await this.client.refreshMetadata([]);
    const controller = this.client.metadata.controllerId;
    if (controller >= 0 && this.client.metadata.brokers.has(controller)) {
      try {
        return await this.client.requestNode(controller, apiKey, body);
      } catch (error) {
        if (!(error instanceof StrataError) || !error.retriable) throw error;
      }
    }
    return this.client.requestAny(apiKey, body);
  }

  async createTopics(options: { topics: readonly ITopicConfig[]; validateOnly?: boolean; timeoutMs?: number; waitForLeaders?: boolean }): Promise<boolean> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const response = await this.toController(API_KEYS.createTopics, {
      topics: options.topics.map((t) => ({
        name: t.topic,
        partitions: t.numPartitions,
        replicationFactor: t.replicationFactor ?? 1,
        configs: { ...(t.configs ?? {}) },
      })),
      timeoutMs,
      validateOnly: options.validateOnly ?? false,
    });
    let allCreated = true;
    for (const result of response.topics) {
      if (result.errorCode === ERRORS.TOPIC_ALREADY_EXISTS.code) allCreated = false;
      else if (result.errorCode !== 0) throw topicError(result);
    }
    if (!(options.validateOnly ?? false) && (options.waitForLeaders ?? true)) {
      await this.waitForLeaders(options.topics.map((t) => t.topic), timeoutMs);
    }
    return allCreated;
  }

  private async waitForLeaders(topics: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      await this.client.refreshMetadata(topics).catch(() => undefined);
      const ready = topics.every((topic) => {
        const info = this.client.metadata.topic(topic);
        return info !== undefined && info.partitions.length > 0 && info.partitions.every((p) => this.client.metadata.leaderOf(topic, p.partition) !== undefined);
      });
      if (ready) return;
      if (Date.now() >= deadline) throw new StrataError('LEADER_NOT_AVAILABLE', `No leader for every partition of ${topics.join(', ')} after ${timeoutMs} ms.`);
      await sleep(Math.min(50 * 2 ** attempt, 500));
    }
  }

  /** Deletes topics; rejects with the first error (UNKNOWN_TOPIC_OR_PARTITION for a missing one). */
  async deleteTopics(options: { topics: readonly string[]; timeoutMs?: number }): Promise<void> {
    const response = await this.toController(API_KEYS.deleteTopics, { topics: [...options.topics], timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    for (const topic of options.topics) this.client.metadata.invalidate(topic);
    for (const result of response.topics) {
      if (result.errorCode !== 0) throw topicError(result);
    }
  }

  /** Every topic's name, sorted. */
  async listTopics(): Promise<string[]> {
    this.checkOpen();
    const response = await this.client.refreshMetadata();
    return response.topics.filter((t) => t.errorCode === 0).map((t) => t.name).sort();
  }

  /** Partitions with leader, replicas, isr and the log start / high watermark / log end offsets. */
  async describeTopics(options: { topics: readonly string[] }): Promise<{ topics: TopicDescription[] }> {
    this.checkOpen();
    const topics: TopicDescription[] = [];
    for (const name of options.topics) {
      this.client.metadata.invalidate(name);
      const info = await this.client.topicMetadata(name);
      const [earliest, latest] = await Promise.all([
        this.partitionOffsets(name, info.partitions, LIST_OFFSETS_EARLIEST),
        this.partitionOffsets(name, info.partitions, LIST_OFFSETS_LATEST),
      ]);
      const highWatermarks = await this.highWatermarks(name, info.partitions, latest);
      topics.push({
        name,
        partitions: info.partitions.map((p) => ({
          partition: p.partition,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: [...p.replicas],
          isr: [...p.isr],
          logStartOffset: earliest.get(p.partition)?.offset ?? -1,
          highWatermark: highWatermarks.get(p.partition) ?? -1,
          logEndOffset: latest.get(p.partition)?.offset ?? -1,
        })),
      });
    }
    return { topics };
  }

  /**
   * Each partition's offset for `timestamp`: 'earliest' (log start), 'latest' (default; the next
   * offset to be written as the broker reports it), or the first offset at or after a time in ms.
   */
  async listOffsets(options: { topic: string; timestamp?: 'earliest' | 'latest' | number }): Promise<PartitionOffsets[]> {
    this.checkOpen();
    const spec = options.timestamp ?? 'latest';
    const timestamp = spec === 'earliest' ? LIST_OFFSETS_EARLIEST : spec === 'latest' ? LIST_OFFSETS_LATEST : spec;
    const info = await this.client.topicMetadata(options.topic);
    const results = await this.partitionOffsets(options.topic, info.partitions, timestamp);
    return info.partitions.map((p) => {
      const r = results.get(p.partition)!;
      return { partition: p.partition, offset: r.offset, timestamp: r.timestamp };
    });
  }

  /** ListOffsets for every partition of a topic, each at its leader, retried after metadata refresh. */
  private async partitionOffsets(topic: string, partitions: readonly PartitionInfo[], timestamp: number): Promise<Map<number, ListOffsetsPartitionResult>> {
    const results = new Map<number, ListOffsetsPartitionResult>();
    await withRetry(
      async () => {
        const missing = partitions.filter((p) => !results.has(p.partition));
        const byLeader = new Map<number, number[]>();
        for (const p of missing) {
          const leader = this.client.metadata.leaderOf(topic, p.partition);
          if (leader === undefined) throw new StrataError('LEADER_NOT_AVAILABLE', `${topic}-${p.partition}.`);
          byLeader.set(leader, [...(byLeader.get(leader) ?? []), p.partition]);
        }
        let failure: StrataError | undefined;
        await Promise.all(
          [...byLeader].map(async ([nodeId, ids]) => {
            const response = await this.client.requestNode(nodeId, API_KEYS.listOffsets, {
              topics: [{ name: topic, partitions: ids.map((partition) => ({ partition, timestamp })) }],
            });
            for (const result of response.topics.find((t) => t.name === topic)?.partitions ?? []) {
              if (result.errorCode === 0) results.set(result.partition, result);
              else {
                this.client.onPartitionError(topic, result.partition, result.errorCode, result.leaderHint);
                failure ??= StrataError.fromCode(result.errorCode, `${topic}-${result.partition}.`);
              }
            }
          }),
        );
        if (failure !== undefined) throw failure;
        if (partitions.some((p) => !results.has(p.partition))) throw new StrataError('INVALID_RESPONSE', `ListOffsets left out partitions of ${topic}.`);
      },
      this.client.config.retry,
      async () => {
        await this.client.topicMetadata(topic);
      },
    );
    return results;
  }

  /** High watermarks, read from an empty Fetch at the latest offset (the response carries them). */
  private async highWatermarks(topic: string, partitions: readonly PartitionInfo[], latest: Map<number, ListOffsetsPartitionResult>): Promise<Map<number, number>> {
    const byLeader = new Map<number, number[]>();
    for (const p of partitions) {
      const leader = this.client.metadata.leaderOf(topic, p.partition);
      if (leader !== undefined) byLeader.set(leader, [...(byLeader.get(leader) ?? []), p.partition]);
    }
    const highWatermarks = new Map<number, number>();
    await Promise.all(
      [...byLeader].map(async ([nodeId, ids]) => {
        const response = await this.client.requestNode(nodeId, API_KEYS.fetch, {
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1,
          topics: [{ name: topic, partitions: ids.map((partition) => ({ partition, fetchOffset: latest.get(partition)?.offset ?? 0, partitionMaxBytes: 1 })) }],
        });
        for (const result of response.topics.find((t) => t.name === topic)?.partitions ?? []) {
          if (result.errorCode === 0) highWatermarks.set(result.partition, result.highWatermark);
        }
      }),
    );
    return highWatermarks;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.client.release(this);
  }

  private checkOpen(): void {
    if (this.isClosed) throw new StrataError('NETWORK_EXCEPTION', 'The admin client is closed.');
  }
}

/**
 * The error for a topic's result. The broker's message already opens with the code's generic text,
 * which StrataError adds too: keep it once.
 */
function topicError(result: { name: string; errorCode: number; errorMessage: string }): StrataError {
  const generic = errorByCode(result.errorCode)?.message ?? '';
  const detail = result.errorMessage.startsWith(generic) ? result.errorMessage.slice(generic.length).trim() : result.errorMessage;
  return StrataError.fromCode(result.errorCode, detail === '' ? `Topic '${result.name}'.` : `Topic '${result.name}': ${detail}`);
}
