// Method: a topics.json written by the real TopicStore in a temp dir is migrated and the records
// applied to an image (ids, partition counts and configs kept, every replica this node); then
// hand-written damaged files, each refused with an error naming the file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOPICS_FILE, TopicStore } from '../topic-store.js';
import { MetadataImage } from './metadata-image.js';
import { recordsFromTopicsJson, TopicsMigrationError } from './migrate-topics-json.js';

let dataDir: string;

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-migrate-'));
});

afterEach(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function writeTopicsJson(content: unknown): string {
  const file = path.join(dataDir, TOPICS_FILE);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('recordsFromTopicsJson', () => {
  it('turns every topic of a single-node data dir into a create-topic record on this node, ids kept', () => {
    const store = TopicStore.load(dataDir);
    const orders = TopicStore.newTopic('orders', 3, { 'retention.ms': '3600000' }, 1);
    const offsets = TopicStore.newTopic('__consumer_offsets', 16, { 'cleanup.policy': 'compact' }, 2);
    store.put(orders);
    store.put(offsets);

    const records = recordsFromTopicsJson(dataDir, 7);
    expect(records).toEqual([
      { type: 'create-topic', name: 'orders', topicId: orders.topicId, partitions: [{ replicas: [7] }, { replicas: [7] }, { replicas: [7] }], configs: { 'retention.ms': '3600000' } },
      { type: 'create-topic', name: '__consumer_offsets', topicId: offsets.topicId, partitions: Array.from({ length: 16 }, () => ({ replicas: [7] })), configs: { 'cleanup.policy': 'compact' } },
    ]);
    const image = new MetadataImage();
    for (const [offset, record] of records.entries()) expect(image.apply(record, offset)).toEqual({ applied: true });
    expect(image.replicasOn(7)).toHaveLength(19);
    expect(fs.existsSync(path.join(dataDir, TOPICS_FILE))).toBe(true);
  });

  it('has nothing to migrate without a topics.json, and creates nothing', () => {
    const missing = path.join(dataDir, 'never-made');
    expect(recordsFromTopicsJson(dataDir, 1)).toEqual([]);
    expect(recordsFromTopicsJson(missing, 1)).toEqual([]);
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('refuses a node id that is not one', () => {
    expect(() => recordsFromTopicsJson(dataDir, -1)).toThrow(/local node id must be an integer/);
  });

  const topic = { name: 'orders', topicId: '5b3c1d0e-8f4a-4c55-9d2e-0a1b2c3d4e5f', partitions: 1, configs: {}, createdAtMs: 1 };

  it.each([
    ['bytes that are not JSON', '{"version": 1, "topics": [', 'not valid JSON'],
    ['another version', { version: 2, topics: [] }, 'unsupported version 2'],
    ['a bad partition count', { version: 1, topics: [{ ...topic, partitions: 0 }] }, 'bad partitions'],
    ['a topic twice', { version: 1, topics: [topic, { ...topic, topicId: 'other' }] }, "topic 'orders' appears twice"],
    ['a topic id twice', { version: 1, topics: [topic, { ...topic, name: 'payments' }] }, `topic id ${topic.topicId} appears twice`],
    ['a config that is not a string', { version: 1, topics: [{ ...topic, configs: { 'retention.ms': 5 } }] }, "'retention.ms' must be a string"],
    ['an unknown config', { version: 1, topics: [{ ...topic, configs: { 'retention.days': '5' } }] }, "unknown topic config 'retention.days'"],
    ['a topic id that cannot be a record', { version: 1, topics: [{ ...topic, topicId: '../x' }] }, "field 'topicId'"],
  ])('refuses a file with %s, naming the file', (_what, content, fragment) => {
    const file = writeTopicsJson(content);
    let error: unknown;
    try {
      recordsFromTopicsJson(dataDir, 1);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TopicsMigrationError);
    expect((error as Error).message).toContain(`cannot migrate ${file}`);
    expect((error as Error).message).toContain(fragment);
  });
});
