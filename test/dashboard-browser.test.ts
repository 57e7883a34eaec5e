// Method: a three-broker embedded cluster with HTTP listeners on free ports, a topic, records and a
// consumer group that commits, all through the client library; Debian's Chromium (driven by
// playwright-core, which downloads nothing) opens one broker's dashboard, and every check waits for
// the page to show what the cluster says (deadlines, never fixed sleeps): brokers up, the topic's
// offsets, the group's lag; then more records and a killed broker must show without a reload, and
// the page must say so when its own broker goes away. Skipped, saying why, when Chromium is missing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { silentLogger, startCluster, type EmbeddedCluster } from '../broker/index.js';
import { Client, type Consumer } from '../client/index.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const skipReason = fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;
/** `STRATA_UPDATE_SCREENSHOT=1` writes docs/dashboard.png; otherwise the screenshot goes to a temp dir. */
const UPDATE_SCREENSHOT = process.env.STRATA_UPDATE_SCREENSHOT === '1';
const WAIT_MS = 30_000;
const TOPIC = 'orders';
const GROUP = 'billing';

let cluster: EmbeddedCluster | undefined;
let client: Client | undefined;
let browser: Browser | undefined;
let worker: Consumer | undefined;
let workerRun: Promise<void> | undefined;
let releaseWorker: () => void = () => undefined;
const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-dashboard-'));

/** Retries `check` until it stops throwing or the deadline passes (then its last error is thrown). */
async function eventually(check: () => Promise<void>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function cell(page: Page, testId: string, field: string): Promise<string> {
  return page.locator(`[data-testid="${testId}"] [data-field="${field}"]`).first().innerText({ timeout: WAIT_MS });
}

/** The high watermark of each partition of TOPIC, as its leader knows it. */
function leaderHighWatermarks(partitions: number): number[] {
  return Array.from({ length: partitions }, (_, p) => {
    for (const id of cluster!.nodeIds) {
      const hosted = cluster!.broker(id)?.partitions.partition(TOPIC, p);
      if (hosted?.isLeader === true) return hosted.highWatermark;
    }
    throw new Error(`${TOPIC}-${p} has no leader right now`);
  });
}

async function produce(count: number, from: number): Promise<void> {
  const producer = client!.producer({ acks: 'all' });
  await producer.send({ topic: TOPIC, messages: Array.from({ length: count }, (_, i) => ({ key: `order-${from + i}`, value: JSON.stringify({ id: from + i, item: 'book', paid: true }) })) });
  await producer.close();
}

afterAll(async () => {
  releaseWorker();
  await workerRun?.catch(() => undefined);
  await worker?.close().catch(() => undefined);
  await browser?.close();
  await client?.close();
  await cluster?.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

describe(skipReason === undefined ? 'the dashboard in a browser' : `the dashboard in a browser (skipped: ${skipReason})`, () => {
  let page: Page;
  let handled = 0;

  beforeAll(async () => {
    if (skipReason !== undefined) return;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    cluster = await startCluster({ nodes: 3, brokerOptions: { logger: silentLogger(), raftTickMs: 50, http: { host: '127.0.0.1', port: 0 } } });
    await cluster.waitForController();
    client = new Client({ brokers: [...cluster.bootstrap], clientId: 'dashboard-test', retry: { retries: 20, initialRetryTimeMs: 50, maxRetryTimeMs: 500 } });
    const admin = client.admin();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2, replicationFactor: 3 }] });
    await admin.close();
    await produce(10, 0);

    // A group member that handles (and so commits) the first 10 records, then holds the 11th unhandled.
    let gate: Promise<void> = new Promise((resolve) => (releaseWorker = resolve));
    worker = client.consumer({ groupId: GROUP });
    await worker.subscribe({ topics: [TOPIC], fromBeginning: true });
    workerRun = worker.run({
      eachMessage: async () => {
        if (handled === 10) await gate;
        handled++;
      },
    });
    gate = gate.then(() => worker!.stop());
  });

  it.skipIf(skipReason !== undefined)('shows brokers, topic offsets and group lag live, a killed broker as down, and a banner when its broker goes', async () => {
    const serving = cluster!.broker(1)!.httpAddress!;
    page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`http://${serving.host}:${serving.port}/`);
    // Page code is passed as strings: this project's TypeScript has no DOM types.
    await page.evaluate('window.loadedOnce = true');

    for (const id of [1, 2, 3]) await page.waitForSelector(`[data-testid="broker-${id}"][data-state="up"]`, { timeout: WAIT_MS });
    await page.waitForSelector(`[data-testid="topic-${TOPIC}"]`, { timeout: WAIT_MS });

    // Offsets: the page shows each leader's high watermark; the group has handled all 10 records.
    await eventually(async () => expect(handled).toBe(10));
    const expectOffsets = async () => {
      const expected = leaderHighWatermarks(2);
      for (const p of [0, 1]) expect(await cell(page, `partition-${TOPIC}-${p}`, 'highWatermark')).toBe(expected[p]!.toLocaleString('en-US'));
    };
    await eventually(expectOffsets);
    const groupLag = async () => {
      const admin = client!.admin();
      try {
        return (await admin.describeGroup(GROUP)).partitions.reduce((sum, p) => sum + Math.max(0, p.lag), 0);
      } finally {
        await admin.close();
      }
    };
    await eventually(async () => expect(await cell(page, `group-${GROUP}`, 'totalLag')).toBe(String(await groupLag())));

    // More records, no reload: offsets and lag follow.
    await produce(5, 10);
    await eventually(expectOffsets);
    await eventually(async () => {
      const lag = await groupLag();
      expect(lag).toBeGreaterThanOrEqual(5);
      expect(await cell(page, `group-${GROUP}`, 'totalLag')).toBe(lag.toLocaleString('en-US'));
    });

    // The message browser reads the first page of partition 0 from this broker.
    await page.selectOption('#browse-topic', TOPIC);
    await page.selectOption('#browse-partition', '0');
    await page.click('#browse button[type="submit"]');
    await page.waitForSelector('[data-testid="records"] tbody tr', { timeout: WAIT_MS });
    expect(await page.locator('[data-testid="records"]').innerText()).toMatch(/order-\d+[\s\S]*"item": "book"/);

    if (UPDATE_SCREENSHOT) {
      // Let the charts gather a few samples (one every 5 s) with some traffic to draw.
      for (let round = 0; round < 4; round++) {
        const points = await page.locator(`[data-testid="topic-${TOPIC}"] polyline`).first().getAttribute('points').catch(() => null);
        await produce(20 + round * 15, 100 + round * 100);
        const chart = JSON.stringify(`[data-testid="topic-${TOPIC}"] polyline`);
        await page.waitForFunction(`document.querySelector(${chart})?.getAttribute('points') !== ${JSON.stringify(points)}`, undefined, { timeout: WAIT_MS });
      }
    }
    const screenshot = UPDATE_SCREENSHOT ? path.resolve(import.meta.dirname, '..', 'docs', 'dashboard.png') : path.join(tempDir, 'dashboard.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(fs.statSync(screenshot).size).toBeGreaterThan(10_000);

    // A broker killed: shown as down, the rest of the page still live.
    await cluster!.killBroker(3);
    await page.waitForSelector('[data-testid="broker-3"][data-state="down"]', { timeout: WAIT_MS });
    await page.waitForSelector('[data-testid="broker-1"][data-state="up"]', { timeout: WAIT_MS });
    expect(await page.evaluate('window.loadedOnce')).toBe(true);

    // The member leaves while two brokers still make a quorum (its last commit needs one).
    releaseWorker();
    await workerRun;
    await worker!.close();
    worker = undefined;

    // The serving broker itself gone: a banner says so, and the page keeps its last picture.
    await cluster!.killBroker(1);
    await page.waitForSelector('#banner:not([hidden])', { timeout: WAIT_MS });
    expect(await page.locator('#banner').innerText()).toMatch(/Lost the connection to this broker .*retrying/);
    expect(await page.locator('[data-testid="broker-2"]').count()).toBe(1);
  });
});
