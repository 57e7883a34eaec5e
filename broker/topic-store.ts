/**
 * The broker's durable record of which topics exist: `<dataDir>/topics.json`.
 *
 * ```
 * { "version": 1,
 *   "topics": [ { "name": "orders", "topicId": "<uuid>", "partitions": 3,
 *                 "configs": { "retention.ms": "3600000" }, "createdAtMs": 1764000000000 } ] }
 * ```
 *
 * The file is the commit point of topic creation and deletion: it is replaced atomically (write
 * `topics.json.tmp`, fsync it, rename over `topics.json`, fsync the directory), so after a crash it
 * holds either the old list or the new one, never a mix. A leftover `.tmp` is an unfinished write
 * and is discarded on load. A partition directory that belongs to no topic here is the remains of a
 * deletion that committed before its files were removed (`partition-manager.ts` sweeps it).
 *
 * The topic id (a random UUID, Kafka's topic id) tells a re-created topic from an old one of the same
 * name: each partition directory records it (`partition.metadata`).
 *
 * Concurrency: one thread; every mutation writes the file synchronously before it returns. Topic
 * changes are rare administrative operations, so the fsync is not on any hot path.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { replaceFileAtomically } from '../log/index.js';
import type { TopicConfigs } from './topic-config.js';
import { isValidTopicName } from './topic-name.js';

export const TOPICS_FILE = 'topics.json';
const FORMAT_VERSION = 1;

export interface TopicMetadata {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: number;
  readonly configs: TopicConfigs;
  readonly createdAtMs: number;
}

export class TopicStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopicStoreError';
  }
}

export class TopicStore {
  readonly file: string;
  private readonly topics: Map<string, TopicMetadata>;
  /** False when the store was created fresh because no `topics.json` existed. */
  readonly existed: boolean;

  private constructor(file: string, topics: Map<string, TopicMetadata>, existed: boolean) {
    this.file = file;
    this.topics = topics;
    this.existed = existed;
  }

  /** Reads `<dataDir>/topics.json` (an empty store if there is none). A damaged file is an error. */
  static load(dataDir: string): TopicStore {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, TOPICS_FILE);
    fs.rmSync(`${file}.tmp`, { force: true });
    if (!fs.existsSync(file)) return new TopicStore(file, new Map(), false);
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      throw new TopicStoreError(`${file} is not valid JSON: ${(error as Error).message}`);
    }
    const topics = new Map<string, TopicMetadata>();
    const ids = new Set<string>();
    for (const topic of checkFile(parsed, file)) {
      // A name or id given twice is a damaged file: keeping either copy would be a guess.
      if (topics.has(topic.name)) throw new TopicStoreError(`${file}: topic '${topic.name}' appears twice`);
      if (ids.has(topic.topicId)) throw new TopicStoreError(`${file}: topic id ${topic.topicId} appears twice`);
      topics.set(topic.name, topic);
      ids.add(topic.topicId);
    }
    return new TopicStore(file, topics, true);
  }

  get size(): number {
    return this.topics.size;
  }

  get(name: string): TopicMetadata | undefined {
    return this.topics.get(name);
  }

  list(): TopicMetadata[] {
    return [...this.topics.values()];
  }

  /** A new topic's record, with a fresh topic id; not stored until `put`. */
  static newTopic(name: string, partitions: number, configs: TopicConfigs, nowMs: number): TopicMetadata {
    return Object.freeze({ name, topicId: randomUUID(), partitions, configs: Object.freeze({ ...configs }), createdAtMs: nowMs });
  }

  /** Adds or replaces a topic and makes the change durable before returning. */
  put(topic: TopicMetadata): void {
    const next = new Map(this.topics);
    next.set(topic.name, topic);
    this.write(next);
  }

  /** Removes a topic and makes the change durable before returning. */
  remove(name: string): void {
    if (!this.topics.has(name)) return;
    const next = new Map(this.topics);
    next.delete(name);
    this.write(next);
  }

  private write(next: Map<string, TopicMetadata>): void {
    replaceFileAtomically(this.file, JSON.stringify({ version: FORMAT_VERSION, topics: [...next.values()] }, null, 2));
    // Only now, with the file durable, does memory follow.
    this.topics.clear();
    for (const [name, topic] of next) this.topics.set(name, topic);
  }
}

function checkFile(parsed: unknown, file: string): TopicMetadata[] {
  const fail = (what: string): never => {
    throw new TopicStoreError(`${file}: ${what}`);
  };
  if (typeof parsed !== 'object' || parsed === null) fail('not an object');
  const { version, topics } = parsed as { version?: unknown; topics?: unknown };
  if (version !== FORMAT_VERSION) fail(`unsupported version ${JSON.stringify(version)}, expected ${FORMAT_VERSION}`);
  if (!Array.isArray(topics)) fail('"topics" is not an array');
  return (topics as unknown[]).map((raw, i) => {
    const t = raw as Partial<Record<keyof TopicMetadata, unknown>>;
    if (typeof t !== 'object' || t === null) fail(`topic ${i} is not an object`);
    if (!isValidTopicName(t.name)) fail(`topic ${i} has an invalid name ${JSON.stringify(t.name)}`);
    if (typeof t.topicId !== 'string' || t.topicId.length === 0) fail(`topic ${String(t.name)} has no topicId`);
    if (typeof t.partitions !== 'number' || !Number.isSafeInteger(t.partitions) || t.partitions < 1) fail(`topic ${String(t.name)} has bad partitions`);
    if (typeof t.configs !== 'object' || t.configs === null) fail(`topic ${String(t.name)} has bad configs`);
    const configs = Object.freeze({ ...(t.configs as Record<string, string>) });
    return Object.freeze({
      name: t.name as string,
      topicId: t.topicId as string,
      partitions: t.partitions as number,
      configs,
      createdAtMs: typeof t.createdAtMs === 'number' ? t.createdAtMs : 0,
    });
  });
}
