// Method: writes a real partition log in a temp dir as a follower would (a Raft leader-change control
// batch, then data batches with text, JSON, binary and headers), leaves the last batch above the high
// watermark, and reads pages through `readRecordsPage`; the query parser is checked on good and bad input.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { asEpoch, asOffset, encodeBatch, encodeLeaderChangeBatch, Log } from '../../log/index.js';
import { silentLogger } from '../logger.js';
import { Partition } from '../partition.js';
import { browseBytes, parsePartitionParam, parseRecordsQuery, PREVIEW_BYTES, readRecordsPage, RECORDS_LIMIT_MAX } from './record-browser.js';

const dirs: string[] = [];
const logs: Log[] = [];

afterEach(async () => {
  await Promise.all(logs.splice(0).map((log) => log.close()));
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);

/** Offsets: 0 control, 1..3 data (t0, t0+1s, t0+2s), 4 control, 5..6 data; high watermark 7; then 7..8 above it. */
async function partitionWithControlBatches(): Promise<Partition> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-browse-'));
  dirs.push(dir);
  const log = await Log.open(dir, {}, { clock: () => T0 + 60_000 });
  logs.push(log);
  await log.appendAsFollower(encodeLeaderChangeBatch(asEpoch(1), 1, asOffset(0), T0));
  await log.appendAsFollower(
    encodeBatch(
      [
        { key: 'k1', value: 'plain text', timestamp: T0 },
        { key: null, value: '{"a":1,"b":[true]}', timestamp: T0 + 1000, headers: { trace: 'abc', empty: null } },
        { key: Buffer.from([0xff, 0x00]), value: Buffer.from([0xc3, 0x28, 0x01]), timestamp: T0 + 2000 },
      ],
      { baseOffset: 1, partitionLeaderEpoch: 1 },
    ),
  );
  await log.appendAsFollower(encodeLeaderChangeBatch(asEpoch(2), 2, asOffset(4), T0 + 3000));
  await log.appendAsFollower(encodeBatch([{ value: 'five', timestamp: T0 + 5000 }, { value: 'six', timestamp: T0 + 6000 }], { baseOffset: 5, partitionLeaderEpoch: 2 }));
  const partition = new Partition({
    topic: 'orders',
    index: 0,
    topicId: 'id-1',
    log,
    localNodeId: 2,
    leadership: { leaderId: 2, leaderEpoch: asEpoch(2), replicas: [2], isr: [2] },
    logger: silentLogger(),
    onHighWatermark: () => undefined,
  });
  // Written but not committed: never shown.
  await log.appendAsFollower(encodeBatch([{ value: 'seven', timestamp: T0 + 7000 }, { value: 'eight', timestamp: T0 + 8000 }], { baseOffset: 7, partitionLeaderEpoch: 2 }));
  expect(partition.highWatermark).toBe(7);
  expect(log.logEndOffset).toBe(9);
  return partition;
}

describe('readRecordsPage', () => {
  it('skips control batches and stops below the high watermark', async () => {
    const partition = await partitionWithControlBatches();
    const page = await readRecordsPage(partition, { start: { kind: 'logStart' }, limit: 50 });
    expect(page).toMatchObject({ topic: 'orders', partition: 0, logStartOffset: 0, highWatermark: 7, nextOffset: 7 });
    expect(page.records.map((r) => r.offset)).toEqual([1, 2, 3, 5, 6]);
    const [first, second, third] = page.records;
    expect(first).toEqual({ offset: 1, timestamp: T0, key: { size: 2, text: 'k1', hex: '6b31', truncated: false }, value: { size: 10, text: 'plain text', hex: Buffer.from('plain text').toString('hex'), truncated: false }, headers: [] });
    expect(second?.key).toBeNull();
    expect(second?.value?.text).toBe('{"a":1,"b":[true]}');
    expect(second?.headers).toEqual([
      { key: 'trace', value: { size: 3, text: 'abc', hex: '616263', truncated: false } },
      { key: 'empty', value: null },
    ]);
    expect(third?.key).toEqual({ size: 2, text: null, hex: 'ff00', truncated: false });
    expect(third?.value).toEqual({ size: 3, text: null, hex: 'c32801', truncated: false });
  });

  it('pages with nextOffset, from an offset inside a batch, and from a time', async () => {
    const partition = await partitionWithControlBatches();
    const one = await readRecordsPage(partition, { start: { kind: 'offset', offset: 2 }, limit: 2 });
    expect(one.records.map((r) => r.offset)).toEqual([2, 3]);
    expect(one.nextOffset).toBe(5); // the control batch at 4 was passed over already
    const two = await readRecordsPage(partition, { start: { kind: 'offset', offset: one.nextOffset }, limit: 2 });
    expect(two.records.map((r) => r.offset)).toEqual([5, 6]);
    const end = await readRecordsPage(partition, { start: { kind: 'offset', offset: two.nextOffset }, limit: 2 });
    expect(end).toMatchObject({ records: [], nextOffset: 7 });
    // At or past the high watermark: empty, never the uncommitted 7 and 8.
    expect(await readRecordsPage(partition, { start: { kind: 'offset', offset: 8 }, limit: 5 })).toMatchObject({ records: [], nextOffset: 8 });

    const byTime = await readRecordsPage(partition, { start: { kind: 'timestamp', timestamp: T0 + 1500 }, limit: 50 });
    expect(byTime.records.map((r) => r.offset)).toEqual([3, 5, 6]);
    const tooNew = await readRecordsPage(partition, { start: { kind: 'timestamp', timestamp: T0 + 7000 }, limit: 50 });
    expect(tooNew).toMatchObject({ records: [], nextOffset: 7 });
  });
});

describe('parseRecordsQuery', () => {
  it('reads offset, timestamp (ms or ISO 8601) and limit', () => {
    expect(parseRecordsQuery({})).toEqual({ start: { kind: 'logStart' }, limit: 50 });
    expect(parseRecordsQuery({ offset: '12', limit: '3' })).toEqual({ start: { kind: 'offset', offset: 12 }, limit: 3 });
    expect(parseRecordsQuery({ timestamp: String(T0) })).toEqual({ start: { kind: 'timestamp', timestamp: T0 }, limit: 50 });
    expect(parseRecordsQuery({ timestamp: '2026-11-24T10:00:00Z' })).toEqual({ start: { kind: 'timestamp', timestamp: T0 }, limit: 50 });
    expect(parsePartitionParam('7')).toBe(7);
  });

  it('refuses bad input with a message naming the parameter', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ offset: '-1' }, /offset must be a non-negative integer, got '-1'/],
      [{ offset: '1.5' }, /offset must be a non-negative integer/],
      [{ offset: '' }, /offset must be a non-negative integer/],
      [{ offset: ['1', '2'] }, /offset must be given once/],
      [{ offset: '1', timestamp: '2' }, /give offset or timestamp, not both/],
      [{ timestamp: 'yesterday' }, /timestamp must be milliseconds since 1970 or an ISO 8601 date-time, got 'yesterday'/],
      [{ limit: '0' }, new RegExp(`limit must be from 1 to ${RECORDS_LIMIT_MAX}, got 0`)],
      [{ limit: String(RECORDS_LIMIT_MAX + 1) }, /limit must be from 1 to/],
      [{ page: '2' }, /unknown query parameter 'page'; use offset, timestamp or limit/],
    ];
    for (const [query, message] of cases) {
      expect(() => parseRecordsQuery(query), JSON.stringify(query)).toThrow(message);
      expect(() => parseRecordsQuery(query)).toThrow(expect.objectContaining({ errorName: 'INVALID_REQUEST' }));
    }
    expect(() => parsePartitionParam('x')).toThrow(/partition must be a non-negative integer, got 'x'/);
  });
});

describe('browseBytes', () => {
  it('shows at most PREVIEW_BYTES and says the value was cut', () => {
    const big = browseBytes(Buffer.alloc(PREVIEW_BYTES + 10, 0x61));
    expect(big).toMatchObject({ size: PREVIEW_BYTES + 10, truncated: true });
    expect(big?.text).toHaveLength(PREVIEW_BYTES);
    expect(big?.hex).toHaveLength(PREVIEW_BYTES * 2);
  });
});
