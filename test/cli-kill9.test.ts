// Method: issue 3's "done when", with real processes only: a broker child process, the `strata` CLI
// creating a topic and piping 100,000 keyed lines through `strata produce`, `kill -9` of the broker, a
// restart on the same data directory, then `strata consume` reading everything back (keys on their
// murmur2 partitions, offsets 0..n-1 per partition) and replaying from an offset and from a timestamp.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { partitionForKey } from '../client/index.js';
import { ChildProcesses, parseRecords, runStrata, startBrokerProcess, stopProcess, type JsonRecord } from './fixtures/strata-process.js';

const RECORDS = 100_000;
const PARTITIONS = 3;
let dir: string;
const children = new ChildProcesses();

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-cli-kill9-'));
});

afterEach(() => {
  children.killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

const strata = (port: number, args: readonly string[], input?: string) => runStrata(children, port, args, input);

describe('strata CLI end to end (issue 3, done when)', () => {
  it('keeps 100,000 produced records across kill -9 and replays them by offset and by time', async () => {
    const first = await startBrokerProcess(children, dir);
    const created = await strata(first.port, ['topic', 'create', 'orders', '--partitions', String(PARTITIONS)]);
    expect(created.status, created.stderr).toBe(0);

    const input = `${Array.from({ length: RECORDS }, (_, i) => `key${i}:value${i}`).join('\n')}\n`;
    const produced = await strata(first.port, ['produce', 'orders', '--key-separator', ':'], input);
    expect(produced.status, produced.stderr).toBe(0);
    expect(produced.stderr).toMatch(new RegExp(`^produced ${RECORDS} records to orders in [\\d.]+ s \\([\\d,]+ records/s\\)\\n$`));

    // Every send was acknowledged (acks=all, flush.policy always): kill -9 must lose none of them.
    await stopProcess(first.child, 'SIGKILL');
    const second = await startBrokerProcess(children, dir);

    const all = await strata(second.port, ['consume', 'orders', '--offset', 'earliest', '--format', 'json', '--timeout-ms', '2000']);
    expect(all.status, all.stderr).toBe(0);
    const records = parseRecords(all.stdout);
    expect(records).toHaveLength(RECORDS);
    const byPartition: JsonRecord[][] = Array.from({ length: PARTITIONS }, () => []);
    const seen = new Set<number>();
    for (const record of records) {
      const i = Number(/^key(\d+)$/.exec(record.key ?? '')?.[1]);
      expect(record.value).toBe(`value${i}`);
      expect(record.partition).toBe(partitionForKey(`key${i}`, PARTITIONS));
      expect(record.topic).toBe('orders');
      seen.add(i);
      byPartition[record.partition]!.push(record);
    }
    expect(seen.size).toBe(RECORDS);
    for (const partition of byPartition) {
      expect(partition.length).toBeGreaterThan(0);
      // Offsets 0..n-1, and within a partition the lines kept their input order.
      expect(partition.map((r) => r.offset)).toEqual(partition.map((_, offset) => offset));
      const numbers = partition.map((r) => Number(r.key!.slice(3)));
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    }

    // Replay partition 0 from an offset in its middle: exactly the suffix.
    const partition0 = byPartition[0]!;
    const fromOffset = Math.floor(partition0.length / 2);
    const replay = await strata(second.port, ['consume', 'orders', '--partition', '0', '--offset', String(fromOffset), '--format', 'json', '--timeout-ms', '2000']);
    expect(replay.status, replay.stderr).toBe(0);
    expect(parseRecords(replay.stdout)).toEqual(partition0.slice(fromOffset));

    // Replay every partition from the timestamp of a record in the middle: per partition, everything
    // from its first record at or after that time.
    const middle = records[Math.floor(RECORDS / 2)]!;
    const fromTime = await strata(second.port, ['consume', 'orders', '--from-time', String(middle.timestamp), '--format', 'json', '--timeout-ms', '2000']);
    expect(fromTime.status, fromTime.stderr).toBe(0);
    const expected = byPartition.flatMap((partition) => {
      const start = partition.findIndex((r) => r.timestamp >= middle.timestamp);
      return start < 0 ? [] : partition.slice(start);
    });
    const key = (r: JsonRecord) => `${r.partition}:${r.offset}`;
    const got = parseRecords(fromTime.stdout);
    expect(got.length).toBe(expected.length);
    expect(got.map(key).sort()).toEqual(expected.map(key).sort());
    expect(got).toContainEqual(middle);
    // The same time written as ISO 8601 gives the same records.
    const iso = await strata(second.port, ['consume', 'orders', '--from-time', new Date(middle.timestamp).toISOString(), '--format', 'json', '--timeout-ms', '2000']);
    expect(parseRecords(iso.stdout).map(key).sort()).toEqual(expected.map(key).sort());

    await stopProcess(second.child, 'SIGTERM');
  }, 90_000);
});
