/**
 * The converters between replication/'s `RaftBatch` and the RaftMessages request of the wire
 * protocol (client/protocol/apis/raft-messages.ts). They live in broker/, the one folder that sees
 * both sides (replication/ and client/ do not import each other).
 *
 * Invariant: `decodeRaftBatch(encodeRaftBatch(batch))` deep-equals `batch` for every batch whose
 * messages all go `from` -> `to` and whose entries' `sizeBytes` is their payload's length (a property
 * test checks it for every message type). A message's `from` and `to` are not sent: they are the
 * batch's. Decoded payloads are views of the received frame, not copies.
 *
 * Bad input (a message with no body, or a batch whose message names other brokers) is an error with
 * a clear message, never a silently wrong batch.
 */
import type { RaftMessagesRequest, RaftWireMessage } from '../client/protocol/index.js';
import { asEpoch, asOffset } from '../log/index.js';
import type { Entry, Message, RaftBatch } from '../replication/index.js';

export function encodeRaftBatch(batch: RaftBatch): RaftMessagesRequest {
  return {
    from: batch.from,
    to: batch.to,
    beats: batch.heartbeats.beats.map(({ group, term, highWatermark }) => ({ group, term, highWatermark })),
    answers: batch.heartbeats.answers.map(({ group, term }) => ({ group, term })),
    messages: batch.messages.map(({ group, message }) => {
      if (message.from !== batch.from || message.to !== batch.to) {
        throw new Error(`raft batch ${batch.from}->${batch.to} holds a message ${message.from}->${message.to} of group ${group}`);
      }
      return encodeMessage(group, message);
    }),
  };
}

export function decodeRaftBatch(request: RaftMessagesRequest): RaftBatch {
  const { from, to } = request;
  return {
    from,
    to,
    heartbeats: {
      beats: request.beats.map(({ group, term, highWatermark }) => ({ group, term: asEpoch(term), highWatermark: asOffset(highWatermark) })),
      answers: request.answers.map(({ group, term }) => ({ group, term: asEpoch(term) })),
    },
    messages: request.messages.map((wire) => ({ group: wire.group, message: decodeMessage(from, to, wire) })),
  };
}

function encodeMessage(group: string, message: Message<Buffer>): RaftWireMessage {
  const head = { group, term: message.term };
  switch (message.type) {
    case 'pre-vote':
      return { ...head, preVote: { lastOffset: message.lastOffset, lastTerm: message.lastTerm } };
    case 'pre-vote-response':
      return { ...head, preVoteResponse: { granted: message.granted } };
    case 'vote':
      return { ...head, vote: { lastOffset: message.lastOffset, lastTerm: message.lastTerm, transfer: message.transfer } };
    case 'vote-response':
      return { ...head, voteResponse: { granted: message.granted } };
    case 'append':
      return {
        ...head,
        append: {
          prevOffset: message.prevOffset,
          prevTerm: message.prevTerm,
          entries: message.entries.map(({ baseOffset, lastOffset, term, payload }) => ({ baseOffset, lastOffset, term, payload })),
          highWatermark: message.highWatermark,
        },
      };
    case 'append-response': {
      const { success, matchEnd, rejectedOffset, hintOffset, hintTerm } = message;
      return { ...head, appendResponse: { success, matchEnd, rejectedOffset, hintOffset, hintTerm } };
    }
    case 'heartbeat':
      return { ...head, heartbeat: { highWatermark: message.highWatermark } };
    case 'heartbeat-response':
      return { ...head, heartbeatResponse: {} };
    case 'snapshot': {
      const { lastOffset, lastTerm, data } = message.snapshot;
      return { ...head, snapshot: { lastOffset, lastTerm, data: Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length) } };
    }
    case 'timeout-now':
      return { ...head, timeoutNow: {} };
    default:
      return unreachable(message);
  }
}

function decodeMessage(from: number, to: number, wire: RaftWireMessage): Message<Buffer> {
  const envelope = { from, to, term: asEpoch(wire.term) };
  if (wire.preVote !== undefined) return { type: 'pre-vote', ...envelope, lastOffset: asOffset(wire.preVote.lastOffset), lastTerm: asEpoch(wire.preVote.lastTerm) };
  if (wire.preVoteResponse !== undefined) return { type: 'pre-vote-response', ...envelope, granted: wire.preVoteResponse.granted };
  if (wire.vote !== undefined) {
    return { type: 'vote', ...envelope, lastOffset: asOffset(wire.vote.lastOffset), lastTerm: asEpoch(wire.vote.lastTerm), transfer: wire.vote.transfer };
  }
  if (wire.voteResponse !== undefined) return { type: 'vote-response', ...envelope, granted: wire.voteResponse.granted };
  if (wire.append !== undefined) {
    const entries = wire.append.entries.map(
      ({ baseOffset, lastOffset, term, payload }): Entry<Buffer> => ({
        baseOffset: asOffset(baseOffset),
        lastOffset: asOffset(lastOffset),
        term: asEpoch(term),
        payload,
        sizeBytes: payload.length,
      }),
    );
    return {
      type: 'append',
      ...envelope,
      prevOffset: asOffset(wire.append.prevOffset),
      prevTerm: asEpoch(wire.append.prevTerm),
      entries,
      highWatermark: asOffset(wire.append.highWatermark),
    };
  }
  if (wire.appendResponse !== undefined) {
    const { success, matchEnd, rejectedOffset, hintOffset, hintTerm } = wire.appendResponse;
    return {
      type: 'append-response',
      ...envelope,
      success,
      matchEnd: asOffset(matchEnd),
      rejectedOffset: asOffset(rejectedOffset),
      hintOffset: asOffset(hintOffset),
      hintTerm: asEpoch(hintTerm),
    };
  }
  if (wire.heartbeat !== undefined) return { type: 'heartbeat', ...envelope, highWatermark: asOffset(wire.heartbeat.highWatermark) };
  if (wire.heartbeatResponse !== undefined) return { type: 'heartbeat-response', ...envelope };
  if (wire.snapshot !== undefined) {
    const { lastOffset, lastTerm, data } = wire.snapshot;
    return { type: 'snapshot', ...envelope, snapshot: { lastOffset: asOffset(lastOffset), lastTerm: asEpoch(lastTerm), data } };
  }
  if (wire.timeoutNow !== undefined) return { type: 'timeout-now', ...envelope };
  throw new Error(`raft message of group ${JSON.stringify(wire.group)} from node ${from} carries no body`);
}

function unreachable(message: never): never {
  throw new Error(`unknown raft message type ${JSON.stringify((message as { type: unknown }).type)}`);
}
