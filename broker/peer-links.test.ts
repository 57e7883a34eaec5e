// Method: the link state machine is driven by hand — fake connections whose connect the test settles,
// manual timers whose backoff delays it reads — to check laziness, the doubling capped backoff, the
// drop-and-count rule and one log line per outage; then a real link to a bare TCP server on port 0
// that reads frames with client/protocol's FrameReader checks that batches arrive decoded, are
// dropped (counted) while the server is down, and flow again once it is back. Waits poll a
// condition against a deadline.
import net from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { API_KEYS, decodeRequestFrame, FrameReader, type RaftMessagesRequest } from '../client/protocol/index.js';
import { asEpoch, asOffset } from '../log/index.js';
import type { RaftBatch } from '../replication/index.js';
import { createLogger, silentLogger } from './logger.js';
import { PeerLinks, type PeerAddress, type PeerConnection, type PeerLinksOptions, type PeerLinkStats } from './peer-links.js';
import { decodeRaftBatch, encodeRaftBatch } from './raft-batch-codec.js';

function batchTo(to: number, n = 0): RaftBatch {
  return {
    from: 1,
    to,
    heartbeats: { beats: [{ group: 'orders-3', term: asEpoch(2), highWatermark: asOffset(n) }], answers: [{ group: '__cluster_metadata', term: asEpoch(1) }] },
    messages: [
      {
        group: 'orders-4',
        message: {
          type: 'append', from: 1, to, term: asEpoch(2), prevOffset: asOffset(9), prevTerm: asEpoch(1), highWatermark: asOffset(10),
          entries: [{ baseOffset: asOffset(10), lastOffset: asOffset(12), term: asEpoch(2), payload: Buffer.from(`batch ${n}`), sizeBytes: `batch ${n}`.length }],
        },
      },
    ],
  };
}

class FakeConnection implements PeerConnection {
  closed = false;
  unsentBytes = 0;
  readonly sent: RaftMessagesRequest[] = [];
  private readonly listeners: Array<(error: Error | undefined) => void> = [];
  send(apiKey: number, body: RaftMessagesRequest): void {
    expect(apiKey).toBe(API_KEYS.raftMessages);
    if (this.closed) throw new Error('closed');
    this.sent.push(body);
  }
  onClose(listener: (error: Error | undefined) => void): () => void {
    this.listeners.push(listener);
    return () => {};
  }
  destroy(): void {
    this.lose(undefined);
  }
  lose(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.listeners) listener(error);
  }
}

class ManualTimers {
  readonly pending: Array<{ ms: number; callback: () => void; cancelled: boolean }> = [];
  after(ms: number, callback: () => void): { cancel(): void } {
    const timer = { ms, callback, cancelled: false };
    this.pending.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }
  /** Fires the oldest live timer; returns its delay. */
  fire(): number {
    const timer = this.pending.shift();
    if (timer === undefined) throw new Error('no timer pending');
    if (!timer.cancelled) timer.callback();
    return timer.ms;
  }
}

function harness(overrides: Partial<PeerLinksOptions> = {}) {
  const lines: Array<{ msg: string; peer?: number }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  const timers = new ManualTimers();
  const connects: Array<{ peer: PeerAddress; resolve: (c: PeerConnection) => void; reject: (e: Error) => void }> = [];
  const connect = (peer: PeerAddress) => new Promise<PeerConnection>((resolve, reject) => connects.push({ peer, resolve, reject }));
  const links = new PeerLinks({
    nodeId: 1,
    peers: new Map([[2, { host: 'broker-2', port: 9092 }], [3, { host: 'broker-3', port: 9092 }]]),
    logger: createLogger({ destination }),
    timers,
    connect,
    ...overrides,
  });
  const messages = () => lines.map((l) => l.msg);
  return { links, timers, connects, lines, messages };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('PeerLinks (state machine)', () => {
  it('connects lazily, once, and drops (counts) batches until the link is up', async () => {
    const h = harness();
    expect(h.connects).toHaveLength(0);
    h.links.send(2, batchTo(2));
    h.links.send(2, batchTo(2));
    expect(h.connects).toHaveLength(1);
    expect(h.connects[0]?.peer).toEqual({ host: 'broker-2', port: 9092 });
    expect(h.links.stats().get(2)).toMatchObject({ state: 'connecting', droppedBatches: 2, sentBatches: 0 });
    expect(h.links.stats().get(3)).toMatchObject({ state: 'idle', droppedBatches: 0 });

    const connection = new FakeConnection();
    h.connects[0]?.resolve(connection);
    await settle();
    h.links.send(2, batchTo(2, 7));
    expect(connection.sent).toEqual([encodeRaftBatch(batchTo(2, 7))]);
    expect(h.links.stats().get(2)).toMatchObject({ state: 'up', droppedBatches: 2, sentBatches: 1, connects: 1 });
    expect(h.messages()).toEqual(['raft peer link up']);
  });

  it('retries with a doubling backoff capped at the max, logging one line per outage', async () => {
    const h = harness({ reconnectBackoffMs: 50, reconnectBackoffMaxMs: 1000 });
    const delays: number[] = [];
    for (let attempt = 0; attempt < 8; attempt++) {
      h.links.send(2, batchTo(2));
      expect(h.connects).toHaveLength(attempt + 1);
      h.connects[attempt]?.reject(new Error('connect ECONNREFUSED'));
      await settle();
      expect(h.links.stats().get(2)?.state).toBe('backoff');
      h.links.send(2, batchTo(2)); // still backing off: no new connect
      expect(h.connects).toHaveLength(attempt + 1);
      delays.push(h.timers.fire());
    }
    expect(delays).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000]);
    expect(h.links.stats().get(2)).toMatchObject({ state: 'idle', droppedBatches: 16, failures: 8 });
    expect(h.messages()).toEqual(['raft peer unreachable; retrying with backoff']);

    h.links.send(2, batchTo(2));
    const connection = new FakeConnection();
    h.connects[8]?.resolve(connection);
    await settle();
    expect(h.links.stats().get(2)).toMatchObject({ state: 'up', failures: 0 });
    connection.lose(new Error('read ECONNRESET'));
    expect(h.links.stats().get(2)?.state).toBe('backoff');
    expect(h.timers.fire()).toBe(50);
    expect(h.messages()).toEqual(['raft peer unreachable; retrying with backoff', 'raft peer link up', 'raft peer link lost']);
  });

  it('drops batches while the socket holds more than maxUnsentBytes, and sends again once it drained', async () => {
    const h = harness({ maxUnsentBytes: 1024 });
    h.links.send(3, batchTo(3));
    const connection = new FakeConnection();
    h.connects[0]?.resolve(connection);
    await settle();
    connection.unsentBytes = 1025;
    for (let i = 0; i < 10; i++) h.links.send(3, batchTo(3));
    expect(connection.sent).toHaveLength(0);
    connection.unsentBytes = 1024;
    h.links.send(3, batchTo(3));
    expect(connection.sent).toHaveLength(1);
    expect(h.links.stats().get(3)).toMatchObject({ sentBatches: 1, droppedBatches: 11 });
    expect(h.messages()).toEqual(['raft peer link up']);
  });

  it('close() closes the links and cancels the timers; later sends are ignored', async () => {
    const h = harness();
    h.links.send(2, batchTo(2));
    h.links.send(3, batchTo(3));
    const connection = new FakeConnection();
    h.connects[0]?.resolve(connection);
    h.connects[1]?.reject(new Error('refused'));
    await settle();
    await h.links.close();
    expect(connection.closed).toBe(true);
    expect(h.timers.pending.every((t) => t.cancelled)).toBe(true);
    h.links.send(2, batchTo(2));
    expect(h.connects).toHaveLength(2);
    expect([...h.links.stats().values()].map((s) => s.state)).toEqual(['closed', 'closed']);
  });

  it('drops batches for a node that is not a peer, logging once, and rejects bad options', () => {
    const h = harness();
    h.links.send(9, batchTo(9));
    h.links.send(9, batchTo(9));
    expect(h.links.droppedForUnknownPeers).toBe(2);
    expect(h.messages()).toEqual(['dropping raft batches for a node that is not a peer']);
    const logger = silentLogger();
    expect(() => new PeerLinks({ nodeId: 1, peers: new Map([[1, { host: 'h', port: 1 }]]), logger })).toThrow('a broker is not its own peer');
    expect(() => new PeerLinks({ nodeId: 1, peers: new Map([[2, { host: 'h', port: 0 }]]), logger })).toThrow('port 0 is not a TCP port');
    expect(() => new PeerLinks({ nodeId: 1, peers: new Map(), logger, reconnectBackoffMs: 100, reconnectBackoffMaxMs: 10 })).toThrow('reconnectBackoffMaxMs');
  });
});

/** A bare TCP server that decodes every RaftMessages frame it reads into a RaftBatch. */
class BatchSink {
  readonly received: RaftBatch[] = [];
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;

  async listen(port = 0): Promise<number> {
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const reader = new FrameReader(1024 * 1024);
      socket.on('data', (chunk: Buffer) => {
        for (const payload of reader.push(chunk)) {
          const request = decodeRequestFrame(payload);
          expect(request.header.apiKey).toBe(API_KEYS.raftMessages);
          this.received.push(decodeRaftBatch(request.body as RaftMessagesRequest));
        }
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return (server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function waitFor(condition: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('PeerLinks over TCP', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('stays bounded behind a peer that reads nothing: batches beyond maxUnsentBytes are dropped', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => {
      socket.pause();
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cleanup.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const port = (server.address() as net.AddressInfo).port;
    const links = new PeerLinks({ nodeId: 1, peers: new Map([[2, { host: '127.0.0.1', port }]]), logger: silentLogger(), maxUnsentBytes: 1024 * 1024 });
    cleanup.push(() => links.close());
    await waitFor(() => {
      links.send(2, batchTo(2));
      return links.stats().get(2)?.state === 'up';
    }, 'the link to come up');

    const big: RaftBatch = { ...batchTo(2), messages: [{ group: 'orders-4', message: { type: 'snapshot', from: 1, to: 2, term: asEpoch(2), snapshot: { lastOffset: asOffset(5), lastTerm: asEpoch(1), data: Buffer.alloc(256 * 1024) } } }] };
    const before = links.stats().get(2) as { sentBatches: number; droppedBatches: number };
    for (let i = 0; i < 1000; i++) links.send(2, big); // 256 MiB offered in one turn
    const after = links.stats().get(2) as PeerLinkStats;
    // What the kernel took plus at most 1 MiB (and one batch) buffered: a few MiB, never 256.
    const written = after.sentBatches - before.sentBatches;
    expect(written).toBeLessThan(100);
    expect(after.droppedBatches - before.droppedBatches).toBe(1000 - written);
    expect(after.state).toBe('up');
  });

  it('delivers batches as RaftMessages frames, drops them while the peer is down, and reconnects when it is back', async () => {
    const sink = new BatchSink();
    cleanup.push(() => sink.stop());
    const port = await sink.listen();
    const links = new PeerLinks({ nodeId: 1, peers: new Map([[2, { host: '127.0.0.1', port }]]), logger: silentLogger(), reconnectBackoffMs: 5, reconnectBackoffMaxMs: 40 });
    cleanup.push(() => links.close());

    // The first batch opens the link (and is dropped); keep sending, as a Raft host does every tick.
    let n = 0;
    const written: number[] = [];
    const send = () => {
      const sent = links.stats().get(2)?.sentBatches;
      links.send(2, batchTo(2, n));
      if (links.stats().get(2)?.sentBatches !== sent) written.push(n);
      n++;
    };
    await waitFor(() => {
      send();
      return sink.received.length > 0;
    }, 'the first batch');
    expect(sink.received[0]).toEqual(batchTo(2, written[0] as number));

    await sink.stop();
    await waitFor(() => links.stats().get(2)?.state !== 'up', 'the link to notice the peer is gone');
    const before = links.stats().get(2) as { droppedBatches: number; sentBatches: number };
    const received = sink.received.length;
    for (let i = 0; i < 5; i++) links.send(2, batchTo(2, n++));
    expect(links.stats().get(2)?.droppedBatches).toBe(before.droppedBatches + 5);
    expect(links.stats().get(2)?.sentBatches).toBe(before.sentBatches);

    // Back on the same port: the link reconnects after its backoff and batches flow again.
    await sink.listen(port);
    const writtenBefore = written.length;
    await waitFor(() => {
      send();
      return sink.received.length > received;
    }, 'a batch after the restart');
    expect(links.stats().get(2)).toMatchObject({ state: 'up', connects: 2 });
    expect(sink.received[received]).toEqual(batchTo(2, written[writtenBefore] as number));
  });
});
