// Method: builds a real segment with Log, dumps it in-process, then damages a byte and checks the dump
// stops there and says where (test/strata-cli.test.ts runs the same through the real command).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBatch, Log } from '../../log/index.js';
import { dumpLog } from './dump-log.js';

let dir: string;
let segmentFile: string;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-dump-'));
  const log = await Log.open(dir, { flushPolicy: 'never' });
  await log.append(encodeBatch([{ key: 'k1', value: 'v1', timestamp: 1000, headers: { h: 'x' } }, { key: null, value: null, timestamp: 1001 }]));
  await log.append(encodeBatch([{ key: 'k2', value: 'v2', timestamp: 2000 }], { compression: 'lz4' }));
  await log.close();
  segmentFile = path.join(dir, '00000000000000000000.log');
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('strata log dump', () => {
  it('prints every batch and record', () => {
    const lines: string[] = [];
    const summary = dumpLog(segmentFile, { records: true, format: 'json', write: (l) => lines.push(l) });
    expect(summary).toEqual({ batches: 2, records: 3, validBytes: fs.statSync(segmentFile).size });
    const batches = lines.map((l) => JSON.parse(l) as { baseOffset: number; compression: string; records: Array<{ offset: number; key: string | null; value: string | null; headers: object }> });
    expect(batches.map((b) => [b.baseOffset, b.compression])).toEqual([[0, 'none'], [2, 'lz4']]);
    expect(batches.flatMap((b) => b.records)).toEqual([
      { offset: 0, timestamp: 1000, key: 'k1', value: 'v1', headers: { h: 'x' } },
      { offset: 1, timestamp: 1001, key: null, value: null, headers: {} },
      { offset: 2, timestamp: 2000, key: 'k2', value: 'v2', headers: {} },
    ]);
  });

  it('stops at a damaged batch after the good ones and says where', () => {
    const bytes = fs.readFileSync(segmentFile);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0x55, bytes.length - 1);
    fs.writeFileSync(segmentFile, bytes);
    const lines: string[] = [];
    const summary = dumpLog(segmentFile, { records: false, format: 'text', write: (l) => lines.push(l) });
    expect(summary.batches).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^baseOffset: 0 lastOffset: 1 count: 2/);
    expect(summary.error).toMatch(/damaged batch at position \d+: .*CRC/);
  });
});
