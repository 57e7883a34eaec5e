// Method: a three-broker cluster in this process whose metadata group snapshots every 5 records.
// One broker is stopped while topics are created, so the others cut their metadata logs past what
// it holds; when it returns Raft must send it the snapshot, and it must end with every topic (its
// image from the snapshot, not from records it never saw). Then every broker restarts from its own
// snapshot plus log tail and still describes every topic.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, startCluster, type EmbeddedCluster } from '../broker/index.js';
import { Client } from '../client/index.js';
import { waitUntil } from './fixtures/wait-until.js';

let cluster: EmbeddedCluster | undefined;
let client: Client | undefined;
let root: string | undefined;

afterEach(async () => {
  await client?.close();
  await cluster?.close();
  if (root !== undefined) fs.rmSync(root, { recursive: true, force: true });
  client = cluster = root = undefined;
});

const snapshotsOf = (dir: string, nodeId: number): string[] =>
  fs.readdirSync(path.join(dir, `node-${nodeId}`, '__cluster_metadata-0')).filter((name) => name.endsWith('.checkpoint'));

describe('metadata snapshots', () => {
  it('cuts the metadata log below a snapshot, sends the snapshot to a broker behind it, and restarts from it', async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-metadata-snapshot-'));
    const dir = root;
    cluster = await startCluster({ nodes: 3, dataDir: dir, brokerOptions: { logger: silentLogger(), raftTickMs: 50, metadataSnapshotRecords: 5 } });
    const running = cluster;
    const controller = await running.waitForController();
    const away = running.nodeIds.find((id) => id !== controller)!;
    const quorumOf = (id: number) => running.broker(id)!.cluster!.quorum;
    const awayApplied = quorumOf(away).image.appliedOffset;
    await running.killBroker(away);
    client = new Client({ brokers: [...running.bootstrap], clientId: 'snapshot-test', retry: { retries: 20, initialRetryTimeMs: 50, maxRetryTimeMs: 500 } });
    const admin = client.admin();
    const topics = Array.from({ length: 12 }, (_, i) => `snap-${i}`);
    for (const topic of topics) await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
    await admin.close();

    // Cut past everything the stopped broker holds, so only a snapshot can bring it up to date.
    await waitUntil(() => quorumOf(controller).logStartOffset > awayApplied + 1, 'the controller to cut its metadata log');
    expect(snapshotsOf(dir, controller).length).toBeGreaterThanOrEqual(1);

    await running.restartBroker(away);
    await waitUntil(() => topics.every((t) => quorumOf(away).image.topic(t) !== undefined), `node ${away} to learn every topic`);
    // It cannot have replayed the records: the log it was sent starts past them.
    expect(quorumOf(away).logStartOffset).toBeGreaterThan(0);
    expect(snapshotsOf(dir, away).length).toBeGreaterThanOrEqual(1);
    await waitUntil(() => topics.every((t) => running.broker(away)!.partitions.partition(t, 0) !== undefined), `node ${away} to host every partition`);

    for (const id of running.nodeIds) await running.restartBroker(id);
    await running.waitForController();
    for (const id of running.nodeIds) {
      const image = quorumOf(id).image;
      expect(topics.filter((t) => image.topic(t) === undefined), `topics node ${id} lost`).toEqual([]);
      expect(image.brokers().map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    }
    const metadata = await client.cluster.refreshMetadata(topics);
    expect(metadata.topics.map((t) => t.errorCode)).toEqual(topics.map(() => 0));
  });
});
