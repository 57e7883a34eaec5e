// Method: examples over a real Log in a temp dir: a Raft leader's prepareLeaderAppend validates and
// stamps exactly as append does (same bytes on disk), writes nothing, and refuses what append refuses;
// the leader-change control batch decodes as Kafka's LEADER_CHANGE and is taken by a replica's append
// but not by a client's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchField, CONTROL_FLAG } from './batch-header.js';
import { encodeLeaderChangeBatch, LEADER_CHANGE_CONTROL_TYPE } from './control-batch.js';
import { Log } from './log.js';
import { decodeBatch, encodeBatch } from './record-batch.js';
import { asEpoch, asOffset } from './units.js';

const temps: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-control-batch-'));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

const NOW = 1_700_000_000_000;
const clock = (): number => NOW;
function produced(n: number, tag: string): Buffer {
  return encodeBatch(Array.from({ length: n }, (_, i) => ({ key: `${tag}${i}`, value: `value-${tag}${i}`, timestamp: NOW })));
}

describe('Log.prepareLeaderAppend', () => {
  it('stamps the bytes append would write, and writes nothing', async () => {
    const viaAppend = await Log.open(tempDir(), { flushPolicy: 'never' }, { clock });
    const prepared = await Log.open(tempDir(), { flushPolicy: 'never' }, { clock });
    const a = Buffer.concat([produced(3, 'a'), produced(2, 'b')]);
    const b = Buffer.from(a);
    await viaAppend.append(a, { leaderEpoch: asEpoch(4) });
    const result = prepared.prepareLeaderAppend(b, { baseOffset: asOffset(0), leaderEpoch: asEpoch(4) });
    expect(result).toEqual({ lastOffset: 4, maxTimestamp: NOW, records: 5 });
    expect(prepared.logEndOffset).toBe(0);
    expect(b.equals(a)).toBe(true);
    await prepared.appendAsFollower(b);
    const read = await prepared.read(asOffset(0), { maxBytes: 1 << 20 });
    expect(read.bytes.equals((await viaAppend.read(asOffset(0), { maxBytes: 1 << 20 })).bytes)).toBe(true);
    await viaAppend.close();
    await prepared.close();
  });

  it('stamps from any base offset, ahead of the log end', async () => {
    const log = await Log.open(tempDir(), { flushPolicy: 'never' }, { clock });
    const batch = produced(2, 'c');
    expect(log.prepareLeaderAppend(batch, { baseOffset: asOffset(10), leaderEpoch: asEpoch(1) }).lastOffset).toBe(11);
    expect(batch.readInt32BE(BatchField.partitionLeaderEpoch)).toBe(1);
    expect(decodeBatch(batch).header.baseOffset).toBe(10);
    await log.close();
  });

  it('refuses what append refuses and leaves the bytes untouched', async () => {
    const log = await Log.open(tempDir(), { flushPolicy: 'never' }, { clock });
    const control = encodeLeaderChangeBatch(asEpoch(1), 1, asOffset(0), NOW);
    expect(() => log.prepareLeaderAppend(control, { baseOffset: asOffset(0), leaderEpoch: asEpoch(1) })).toThrow(/control batch/);
    const stale = encodeBatch([{ value: 'future', timestamp: NOW + 365 * 86_400_000 }]);
    const before = Buffer.from(stale);
    expect(() => log.prepareLeaderAppend(stale, { baseOffset: asOffset(0), leaderEpoch: asEpoch(1) })).toThrow(/timestamps/);
    expect(stale.equals(before)).toBe(true);
    await log.appendAsFollower(encodeLeaderChangeBatch(asEpoch(5), 1, asOffset(0), NOW));
    expect(() => log.prepareLeaderAppend(produced(1, 'd'), { baseOffset: asOffset(1), leaderEpoch: asEpoch(4) })).toThrow(/epoch 4/);
    expect(() => log.prepareLeaderAppend(produced(1, 'd'), { baseOffset: asOffset(-1), leaderEpoch: asEpoch(5) })).toThrow(/offset -1/);
    await log.close();
  });
});

describe('encodeLeaderChangeBatch', () => {
  it('is a stamped LEADER_CHANGE control batch that a replica appends', async () => {
    const batch = encodeLeaderChangeBatch(asEpoch(7), 3, asOffset(42), NOW);
    const { header, records } = decodeBatch(batch);
    expect(header.attributes & CONTROL_FLAG).toBe(CONTROL_FLAG);
    expect(header.baseOffset).toBe(42);
    expect(header.partitionLeaderEpoch).toBe(7);
    expect(records).toHaveLength(1);
    expect(records[0]?.key?.readInt16BE(2)).toBe(LEADER_CHANGE_CONTROL_TYPE);
    expect(records[0]?.value?.readInt32BE(2)).toBe(3);
    const log = await Log.open(tempDir(), { flushPolicy: 'never' }, { clock });
    await log.resetTo(asOffset(42));
    await log.appendAsFollower(batch);
    expect(log.logEndOffset).toBe(43);
    expect(log.latestEpoch).toBe(7);
    await log.close();
  });
});
