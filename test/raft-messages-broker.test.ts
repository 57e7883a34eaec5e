// Method: starts a real broker (free port, temp data dir) that hosts no Raft groups and sends it
// RaftMessages requests, through a PeerLinks link and over a raw socket, checking that the broker
// serves them (its per-api counter moves), never answers them, and answers what follows in order.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeRaftBatch, PeerLinks, silentLogger, startBroker, type Broker } from '../broker/index.js';
import { API_KEYS, decodeResponseFrame, encodeRequestFrame, FrameReader, peekResponseCorrelationId } from '../client/protocol/index.js';
import { asEpoch, asOffset } from '../log/index.js';
import type { RaftBatch } from '../replication/index.js';

let dataDir: string;
let broker: Broker | undefined;

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-raft-messages-'));
});

afterEach(async () => {
  await broker?.close();
  broker = undefined;
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const batch: RaftBatch = {
  from: 2,
  to: 1,
  heartbeats: { beats: [{ group: 'orders-3', term: asEpoch(3), highWatermark: asOffset(40) }], answers: [] },
  messages: [{ group: '__cluster_metadata', message: { type: 'vote', from: 2, to: 1, term: asEpoch(4), lastOffset: asOffset(9), lastTerm: asEpoch(3), transfer: false } }],
};

async function waitFor(condition: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('RaftMessages on a broker', () => {
  it('reach the Raft host the broker was started with', async () => {
    const delivered: RaftBatch[] = [];
    broker = await startBroker({ nodeId: 1, dataDir, listen: { host: '127.0.0.1', port: 0 }, http: null, logger: silentLogger(), raft: { deliver: (b) => delivered.push(b) } });
    const links = new PeerLinks({ nodeId: 2, peers: new Map([[1, broker.address]]), logger: silentLogger(), reconnectBackoffMs: 5, reconnectBackoffMaxMs: 40 });
    try {
      await waitFor(() => {
        links.send(1, batch);
        return delivered.length > 0;
      }, 'a batch delivered to the Raft host');
      expect(delivered[0]).toEqual(batch);
    } finally {
      await links.close();
    }
  });

  it('does not hold a graceful shutdown for a peer that keeps sending', async () => {
    broker = await startBroker({ dataDir, listen: { host: '127.0.0.1', port: 0 }, http: null, logger: silentLogger(), shutdownGraceMs: 60_000 });
    const served = () => broker?.stats.snapshot().apis[API_KEYS.raftMessages]?.requests ?? 0;
    const links = new PeerLinks({ nodeId: 2, peers: new Map([[1, broker.address]]), logger: silentLogger(), reconnectBackoffMs: 5, reconnectBackoffMaxMs: 40 });
    const sender = setInterval(() => {
      for (let i = 0; i < 20; i++) links.send(1, batch);
    }, 1);
    try {
      await waitFor(() => served() > 100, 'the broker to serve the link');
      // With the grace period at 60 s, only a drain that sees the peer's FIN ends within the test's timeout.
      await broker.close();
      broker = undefined;
    } finally {
      clearInterval(sender);
      await links.close();
    }
  }, 20_000);

  it('is served one-way: counted, never answered, the connection stays usable', async () => {
    broker = await startBroker({ dataDir, listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger() });
    const served = () => broker?.stats.snapshot().apis[API_KEYS.raftMessages]?.requests ?? 0;

    const links = new PeerLinks({ nodeId: 2, peers: new Map([[1, broker.address]]), logger: silentLogger(), reconnectBackoffMs: 5, reconnectBackoffMaxMs: 40 });
    try {
      await waitFor(() => {
        links.send(1, batch);
        return served() > 0;
      }, 'the broker to serve a RaftMessages request');
    } finally {
      await links.close();
    }

    // A raw socket, so that any answer at all would be seen: two RaftMessages, then ApiVersions.
    const socket = net.connect({ host: broker.address.host, port: broker.address.port });
    try {
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      const reader = new FrameReader(1024 * 1024);
      const answers: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => answers.push(...reader.push(chunk)));
      const before = served();
      const header = (correlationId: number) => ({ apiVersion: 0, correlationId, clientId: 'raft-peer' });
      socket.write(encodeRequestFrame(header(1), API_KEYS.raftMessages, encodeRaftBatch(batch)));
      socket.write(encodeRequestFrame(header(2), API_KEYS.raftMessages, encodeRaftBatch(batch)));
      socket.write(encodeRequestFrame(header(3), API_KEYS.apiVersions, {}));
      await waitFor(() => answers.length > 0, 'the ApiVersions answer');
      // Answers come in request order, so the first answer being ApiVersions' means the two before it got none.
      expect(peekResponseCorrelationId(answers[0] as Buffer)).toBe(3);
      expect(decodeResponseFrame(API_KEYS.apiVersions, answers[0] as Buffer).body?.apis.some((api) => api.apiKey === API_KEYS.raftMessages)).toBe(true);
      expect(served()).toBe(before + 2);
      expect(answers).toHaveLength(1);
    } finally {
      socket.destroy();
    }
  });
});
