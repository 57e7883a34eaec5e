// Method: a bootstrap list whose first address is a TCP listener that accepts and never answers (a
// broker behind a partition, as far as a client can tell) and whose second is a real broker: every
// any-broker request (metadata, admin) must time out on the first and be answered by the second,
// and keep going to the second afterwards.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import { Client } from '../client/index.js';

const REQUEST_TIMEOUT_MS = 300;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-unanswering-'));
const sockets = new Set<net.Socket>();
const silent = net.createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.resume();
});
let broker: Broker | undefined;
let client: Client | undefined;

afterAll(async () => {
  await client?.close();
  await broker?.close();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it('an any-broker request that times out on one broker is answered by the next', async () => {
  await new Promise<void>((resolve) => silent.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const silentPort = (silent.address() as net.AddressInfo).port;
  broker = await startBroker({ dataDir, listen: { host: '127.0.0.1', port: 0 }, http: null, logger: silentLogger(), shutdownGraceMs: 200 });
  client = new Client({
    brokers: [`127.0.0.1:${silentPort}`, `127.0.0.1:${broker.address.port}`],
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    connectTimeoutMs: REQUEST_TIMEOUT_MS,
    retry: { retries: 2, initialRetryTimeMs: 10, maxRetryTimeMs: 50 },
  });
  const admin = client.admin();
  await admin.createTopics({ topics: [{ topic: 'answered', numPartitions: 1 }] });
  expect(await admin.listTopics()).toContain('answered');
  // The answering broker is now preferred: no more waits on the silent one.
  const started = performance.now();
  expect(await admin.listTopics()).toContain('answered');
  expect(performance.now() - started).toBeLessThan(REQUEST_TIMEOUT_MS);
  await admin.close();
});
