// Method: 100 Raft groups over the same three brokers, stepped by hand; each tick's messages go through
// the coalescer, and the test counts messages on the wire between brokers and checks the groups stay
// healthy (leaders keep their quorum) on coalesced heartbeats alone.
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from './memory-storage.js';
import type { Message, NodeId } from './message.js';
import { Prng } from './prng.js';
import { coalesceHeartbeats, expandHeartbeats, type GroupMessage } from './heartbeat-coalescer.js';
import { RaftNode } from './raft-node.js';
import { mustPersist } from './ready.js';

const GROUPS = 100;
const BROKERS = [1, 2, 3];

describe('heartbeat coalescer', () => {
  it('round-trips heartbeats and answers and leaves other messages alone', () => {
    const outgoing: GroupMessage<string>[] = [
      { group: 'a', message: { type: 'heartbeat', from: 1, to: 2, term: 3 as never, highWatermark: 7 as never } },
      { group: 'b', message: { type: 'heartbeat', from: 1, to: 2, term: 4 as never, highWatermark: 9 as never } },
      { group: 'c', message: { type: 'heartbeat-response', from: 1, to: 2, term: 2 as never } },
      { group: 'a', message: { type: 'heartbeat', from: 1, to: 3, term: 3 as never, highWatermark: 7 as never } },
      { group: 'a', message: { type: 'timeout-now', from: 1, to: 3, term: 3 as never } },
    ];
    const { batches, others } = coalesceHeartbeats(outgoing);
    expect(batches).toHaveLength(2);
    expect(others.map((m) => m.message.type)).toEqual(['timeout-now']);
    expect(batches.flatMap(expandHeartbeats)).toEqual(outgoing.filter((m) => m.message.type !== 'timeout-now').sort((x, y) => x.message.to - y.message.to));
  });

  it(`${GROUPS} groups led by one broker cost one heartbeat message per peer per tick, and stay led`, () => {
    const prng = new Prng(3);
    const nodes = new Map<string, RaftNode<string>>();
    const key = (group: string, id: NodeId): string => `${group}@${id}`;
    for (let g = 0; g < GROUPS; g++) {
      for (const id of BROKERS) {
        nodes.set(key(`g${g}`, id), new RaftNode<string>({ id, voters: BROKERS, random: prng.fork(), leaderChangePayload: () => 'lc', sizeOf: () => 2 }, new MemoryStorage<string>()));
      }
    }
    // Drive every group's Readies; returns the messages they sent.
    const drain = (): GroupMessage<string>[] => {
      const out: GroupMessage<string>[] = [];
      for (const [k, node] of nodes) {
        while (node.hasReady()) {
          const ready = node.ready();
          expect(mustPersist(ready) && ready.messages.some((m) => m.type === 'heartbeat')).toBe(false);
          const group = k.slice(0, k.indexOf('@'));
          for (const message of [...ready.messages, ...ready.messagesAfterPersist]) out.push({ group, message });
          node.advance(ready);
        }
      }
      return out;
    };
    const deliver = (messages: readonly GroupMessage<string>[]): void => {
      for (const { group, message } of messages) nodes.get(key(group, message.to))?.step(message as Message<string>);
    };
    // Broker 1 leads every group.
    for (let g = 0; g < GROUPS; g++) nodes.get(key(`g${g}`, 1))?.campaign();
    for (let i = 0; i < 10; i++) deliver(drain());
    for (let g = 0; g < GROUPS; g++) expect(nodes.get(key(`g${g}`, 1))?.role).toBe('leader');
    // Many idle ticks, carried by coalesced heartbeats only.
    for (let tick = 0; tick < 50; tick++) {
      for (const node of nodes.values()) node.tick();
      const { batches, others } = coalesceHeartbeats(drain());
      expect(others).toEqual([]);
      // One message from broker 1 to each of its two peers.
      expect(batches.map((b) => `${b.from}>${b.to}`).sort()).toEqual(['1>2', '1>3']);
      expect(batches.every((b) => b.beats.length === GROUPS)).toBe(true);
      deliver(batches.flatMap(expandHeartbeats));
      const answers = coalesceHeartbeats(drain());
      expect(answers.batches.map((b) => `${b.from}>${b.to}`).sort()).toEqual(['2>1', '3>1']);
      deliver(answers.batches.flatMap(expandHeartbeats));
    }
    for (let g = 0; g < GROUPS; g++) expect(nodes.get(key(`g${g}`, 1))?.role).toBe('leader');
  });
});
