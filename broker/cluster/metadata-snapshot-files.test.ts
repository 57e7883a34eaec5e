// Method: snapshot files written and read back in a temp dir, then damaged byte by byte: every
// damage is refused with the file's name, never read as an image.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asOffset } from '../../log/index.js';
import { MetadataSnapshotFiles } from './metadata-snapshot-files.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-snapshot-files-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('MetadataSnapshotFiles', () => {
  it('reads back what it wrote, lists offsets in order and deletes those below one', () => {
    const files = new MetadataSnapshotFiles(dir);
    expect(files.read(asOffset(9))).toBeUndefined();
    files.write(asOffset(41), Buffer.from('{"a":1}'));
    files.write(asOffset(9), Buffer.from('{"b":2}'));
    files.write(asOffset(100), Buffer.alloc(0));
    expect(files.offsets()).toEqual([9, 41, 100]);
    expect(files.read(asOffset(41))?.toString()).toBe('{"a":1}');
    expect(files.read(asOffset(100))?.length).toBe(0);
    files.deleteBelow(asOffset(41));
    expect(files.offsets()).toEqual([41, 100]);
  });

  it('refuses any damaged file, naming it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (data, at, flip) => {
        const files = new MetadataSnapshotFiles(dir);
        files.write(asOffset(7), data);
        const file = files.fileOf(asOffset(7));
        const bytes = fs.readFileSync(file);
        bytes[at % bytes.length]! ^= flip;
        fs.writeFileSync(file, bytes);
        expect(() => files.read(asOffset(7))).toThrow(file);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a truncated file', () => {
    const files = new MetadataSnapshotFiles(dir);
    files.write(asOffset(3), Buffer.from('0123456789'));
    fs.truncateSync(files.fileOf(asOffset(3)), 15);
    expect(() => files.read(asOffset(3))).toThrow(/damaged/);
  });
});
