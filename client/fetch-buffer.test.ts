// Method: a FetchBuffer fed real record batches (a data batch, then a leader-change control batch
// as a replicated partition's log ends after an election). Checks that the control batch hands out
// nothing, that once the chunk is used up the position (and a group's finished offset, when nothing
// is in hand) moves past it, and that a damaged batch never lets the position pass it.
import { describe, expect, it } from 'vitest';
import { asEpoch, asOffset, encodeBatch, encodeLeaderChangeBatch } from '../log/index.js';
import { newPartitionState } from './consumer-partition.js';
import { FetchBuffer } from './fetch-buffer.js';

function bufferFor() {
  const surfaced: Error[] = [];
  const buffer = new FetchBuffer({ isAssigned: () => true, surface: (_state, error) => surfaced.push(error), consumed: () => undefined });
  return { buffer, surfaced };
}

const data = encodeBatch([{ value: 'a' }, { value: 'b' }], { baseOffset: 0 });
const marker = encodeLeaderChangeBatch(asEpoch(2), 1, asOffset(2), 0);

describe('FetchBuffer', () => {
  it('moves the position past a trailing control batch once the chunk is used up', () => {
    const { buffer } = bufferFor();
    const state = newPartitionState('t', 0, 0);
    state.finishedOffset = 0;
    expect(buffer.add(state, 0, 3, Buffer.concat([data, marker]))).toBe(true);
    expect(state.fetchOffset).toBe(3);
    expect(buffer.takeMessage()?.offset).toBe(0);
    expect(buffer.takeMessage()?.offset).toBe(1);
    expect(buffer.takeMessage()).toBeUndefined();
    expect(state.position).toBe(3);
    // A message still in hand keeps the group's finished offset where the application left it.
    expect(state.finishedOffset).toBe(0);
  });

  it('moves the finished offset past the marker too when every message handed out is finished', () => {
    const { buffer } = bufferFor();
    const state = newPartitionState('t', 0, 2);
    state.finishedOffset = 2;
    buffer.add(state, 2, 3, marker);
    expect(buffer.takeMessage()).toBeUndefined();
    expect(state.position).toBe(3);
    expect(state.finishedOffset).toBe(3);
  });

  it('never moves the position past a damaged batch', () => {
    const { buffer, surfaced } = bufferFor();
    const state = newPartitionState('t', 0, 0);
    const damaged = Buffer.from(Buffer.concat([data, marker]));
    damaged[data.length + 30]! ^= 0xff; // inside the control batch: its CRC fails
    buffer.add(state, 0, 3, damaged);
    expect(buffer.takeMessage()?.offset).toBe(0);
    expect(buffer.takeMessage()?.offset).toBe(1);
    expect(buffer.takeMessage()).toBeUndefined();
    expect(surfaced).toHaveLength(1);
    expect(state.position).toBe(2);
  });
});
