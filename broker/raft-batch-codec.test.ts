// Method: fast-check generates RaftBatches holding every Raft message type (offsets up to 2^53 - 1
// and -1, int32 terms, payloads empty to past the by-reference size) and sends each through the RaftMessages wire codec as
// a real request frame: the batch decoded from the frame must deep-equal the one encoded.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { API_KEYS, decodeRequestFrame, encodeRequestFrame, type RaftMessagesRequest } from '../client/protocol/index.js';
import { asEpoch, asOffset } from '../log/index.js';
import type { Entry, GroupMessage, Message, RaftBatch } from '../replication/index.js';
import { decodeRaftBatch, encodeRaftBatch } from './raft-batch-codec.js';

const nodeId = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const term = fc.integer({ min: 0, max: 2 ** 31 - 1 }).map(asEpoch);
const offset = fc.oneof(fc.integer({ min: -1, max: 1000 }), fc.constantFrom(0, 2 ** 31, 2 ** 53 - 1)).map(asOffset);
const group = fc.oneof(fc.constantFrom('__cluster_metadata', 'orders-3'), fc.string({ unit: 'grapheme', maxLength: 30 }));
const bytes = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.integer({ min: 4096, max: 6000 }).map((n) => Buffer.alloc(n, n & 0xff)) },
);
const entry: fc.Arbitrary<Entry<Buffer>> = fc
  .record({ baseOffset: offset, lastOffset: offset, term, payload: bytes })
  .map((e) => ({ ...e, sizeBytes: e.payload.length }));

/** The fields of each message type but its envelope (`from`, `to` are the batch's). */
const body: fc.Arbitrary<Omit<Message<Buffer>, 'from' | 'to'>> = fc.oneof(
  fc.record({ type: fc.constant('pre-vote' as const), term, lastOffset: offset, lastTerm: term }),
  fc.record({ type: fc.constantFrom('pre-vote-response' as const, 'vote-response' as const), term, granted: fc.boolean() }),
  fc.record({ type: fc.constant('vote' as const), term, lastOffset: offset, lastTerm: term, transfer: fc.boolean() }),
  fc.record({
    type: fc.constant('append' as const), term, prevOffset: offset, prevTerm: term,
    entries: fc.array(entry, { maxLength: 4 }), highWatermark: offset,
  }),
  fc.record({
    type: fc.constant('append-response' as const), term, success: fc.boolean(),
    matchEnd: offset, rejectedOffset: offset, hintOffset: offset, hintTerm: term,
  }),
  fc.record({ type: fc.constant('heartbeat' as const), term, highWatermark: offset }),
  fc.record({ type: fc.constant('heartbeat-response' as const), term }),
  fc.record({ type: fc.constant('snapshot' as const), term, snapshot: fc.record({ lastOffset: offset, lastTerm: term, data: bytes }) }),
  fc.record({ type: fc.constant('timeout-now' as const), term }),
);

const batch: fc.Arbitrary<RaftBatch> = fc
  .record({
    from: nodeId,
    to: nodeId,
    beats: fc.array(fc.record({ group, term, highWatermark: offset }), { maxLength: 50 }),
    answers: fc.array(fc.record({ group, term }), { maxLength: 50 }),
    messages: fc.array(fc.tuple(group, body), { maxLength: 12 }),
  })
  .map(({ from, to, beats, answers, messages }) => ({
    from,
    to,
    heartbeats: { beats, answers },
    messages: messages.map(([g, m]): GroupMessage<Buffer> => ({ group: g, message: { ...m, from, to } as Message<Buffer> })),
  }));

function throughTheWire(request: RaftMessagesRequest): RaftMessagesRequest {
  const frame = encodeRequestFrame({ apiVersion: 0, correlationId: 1, clientId: 'broker-1' }, API_KEYS.raftMessages, request);
  const decoded = decodeRequestFrame(frame.subarray(4));
  expect(decoded.header.apiKey).toBe(API_KEYS.raftMessages);
  return decoded.body as RaftMessagesRequest;
}

describe('RaftBatch wire codec', () => {
  it('decode(encode(batch)) deep-equals the batch, for every message type', () => {
    fc.assert(
      fc.property(batch, (original) => {
        expect(decodeRaftBatch(throughTheWire(encodeRaftBatch(original)))).toEqual(original);
      }),
      { numRuns: 200 },
    );
  });

  it('covers every message type of replication/message.ts', () => {
    const seen = new Set(fc.sample(body, 2000).map((m) => m.type));
    expect([...seen].sort()).toEqual(
      ['append', 'append-response', 'heartbeat', 'heartbeat-response', 'pre-vote', 'pre-vote-response', 'snapshot', 'timeout-now', 'vote', 'vote-response'],
    );
  });

  it('refuses a message without a body, and a message that is not from -> to of its batch', () => {
    const request: RaftMessagesRequest = { from: 1, to: 2, beats: [], answers: [], messages: [{ group: 'orders-3', term: 4 }] };
    expect(() => decodeRaftBatch(throughTheWire(request))).toThrow('raft message of group "orders-3" from node 1 carries no body');
    const stray: Message<Buffer> = { type: 'timeout-now', from: 3, to: 2, term: asEpoch(1) };
    expect(() => encodeRaftBatch({ from: 1, to: 2, heartbeats: { beats: [], answers: [] }, messages: [{ group: 'g', message: stray }] })).toThrow(
      'raft batch 1->2 holds a message 3->2 of group g',
    );
  });
});
