// Method: a real log on a temp dir with 1 KiB segments and the `always` flush policy, its events
// captured by a sink and its durations measured by a clock the test steps: every roll is reported
// with the segment boundaries the log then lists, every group-commit fsync with the clock's step.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SegmentRoll } from './log-events.js';
import { Log } from './log.js';
import { encodeBatch } from './record-batch.js';

let dir: string;
let log: Log | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-log-events-'));
});

afterEach(async () => {
  await log?.close();
  log = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('log events', () => {
  it('reports each segment roll with the old and new base offsets, and each fsync round with its duration', async () => {
    const rolls: SegmentRoll[] = [];
    const flushes: number[] = [];
    let now = 0;
    log = await Log.open(dir, { segmentBytes: 1024, flushPolicy: 'always' }, {
      events: { segmentRolled: (roll) => rolls.push(roll), flushed: (ms) => flushes.push(ms) },
      // Each reading is 3 ms after the last: a round's duration is one step.
      elapsedClock: () => (now += 3),
    });
    const value = Buffer.alloc(300, 7);
    for (let i = 0; i < 10; i++) await log.append(encodeBatch([{ value }]));

    expect(rolls.length).toBeGreaterThanOrEqual(2);
    const bases = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => Number(f.slice(0, -4))).sort((a, b) => a - b);
    expect(rolls.map((r) => r.baseOffset)).toEqual(bases.slice(1));
    for (const [i, roll] of rolls.entries()) {
      expect(roll.previousBaseOffset).toBe(bases[i]);
      expect(roll.previousSizeBytes).toBeGreaterThan(0);
      expect(roll.previousSizeBytes).toBeLessThanOrEqual(1024);
    }
    // `always`: every awaited append needed its own fsync round.
    expect(flushes).toHaveLength(10);
    expect(new Set(flushes)).toEqual(new Set([3]));
  });
});
