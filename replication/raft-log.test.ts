// Method: RaftLog over a MemoryStorage prepared by hand, checking recovery and divergence hints.
import { describe, expect, it } from 'vitest';
import { asEpoch, asOffset } from '../log/index.js';
import type { Entry } from './entry.js';
import { MemoryStorage } from './memory-storage.js';
import { RaftLog } from './raft-log.js';

const entry = (base: number, last: number, term: number): Entry<string> => ({ baseOffset: asOffset(base), lastOffset: asOffset(last), term: asEpoch(term), payload: `${base}`, sizeBytes: 1 });

describe('RaftLog', () => {
  it('recovers the high watermark at the log start when retention passed the persisted one', () => {
    const storage = new MemoryStorage<string>();
    storage.append([entry(0, 0, 1), entry(1, 2, 1), entry(3, 3, 1), entry(4, 4, 2)]);
    storage.setHardState({ term: asEpoch(2), vote: undefined, highWatermark: asOffset(1) });
    storage.sync();
    storage.compact(asOffset(4));
    storage.crash();
    const log = new RaftLog(storage, storage.hardState().highWatermark);
    expect(log.startOffset).toBe(4);
    expect(log.highWatermark).toBe(4);
    expect(log.termAt(asOffset(3))).toBe(1);
  });

  it('answers a mismatch with the last offset at or below it whose term is at most the leader’s', () => {
    const storage = new MemoryStorage<string>();
    storage.append([entry(0, 0, 1), entry(1, 2, 1), entry(3, 5, 3), entry(6, 9, 3), entry(10, 10, 4)]);
    const log = new RaftLog(storage, asOffset(0));
    expect(log.findConflictByTerm(asOffset(10), asEpoch(2))).toEqual({ offset: 2, term: 1 });
    expect(log.findConflictByTerm(asOffset(20), asEpoch(3))).toEqual({ offset: 9, term: 3 });
    expect(log.findConflictByTerm(asOffset(7), asEpoch(0))).toEqual({ offset: -1, term: 0 });
  });
});
