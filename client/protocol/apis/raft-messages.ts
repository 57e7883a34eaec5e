/**
 * RaftMessages (api key 1000): Strata's own inter-broker API. One request carries everything one
 * broker's Raft groups send another in one turn (a `RaftBatch` of replication/): the heartbeats and
 * heartbeat answers of all groups, coalesced into (group, term[, high watermark]) lists, and every
 * other Raft message with its group's name.
 *
 * History:
 * - version 0: introduced.
 *
 * One-way: the broker never answers it (the sender uses `Connection.send`); Raft's own answers
 * travel back as RaftMessages requests on the other broker's connection. `RaftMessagesResponse` is
 * empty and exists only because every API declares a response. A request the broker cannot decode
 * is answered with an error header, which the sender's connection drops (no request is waiting).
 *
 * `from` and `to` of every message are the request's: a message carries only its group, its term
 * and the fields of its type, one member of the `body` oneof. A decoded message holds exactly the
 * member that was sent (the other members are absent, not defaulted). Offsets are int64 (exact below
 * 2^53) and may be -1 (an empty log's snapshot offset); terms are int32 (Kafka's leader epochs).
 * Entry payloads and snapshot data decode as views of the received frame, never copies.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const RAFT_MESSAGES_SCHEMA = `
syntax = "proto3";
package strata.raft_messages;

message RaftMessagesRequest  { int32 from = 1; int32 to = 2; repeated CoalescedBeat beats = 3;
                               repeated CoalescedAnswer answers = 4; repeated GroupMessage messages = 5; }
message RaftMessagesResponse { }

message CoalescedBeat   { string group = 1; int32 term = 2; int64 high_watermark = 3; }
message CoalescedAnswer { string group = 1; int32 term = 2; }

message GroupMessage {
  string group = 1;
  int32 term = 2;
  oneof body {
    PreVote pre_vote = 3;
    VoteResponse pre_vote_response = 4;
    Vote vote = 5;
    VoteResponse vote_response = 6;
    Append append = 7;
    AppendResponse append_response = 8;
    Heartbeat heartbeat = 9;
    NoFields heartbeat_response = 10;
    Snapshot snapshot = 11;
    NoFields timeout_now = 12;
  }
}
message PreVote        { int64 last_offset = 1; int32 last_term = 2; }
message Vote           { int64 last_offset = 1; int32 last_term = 2; bool transfer = 3; }
message VoteResponse   { bool granted = 1; }
message Append         { int64 prev_offset = 1; int32 prev_term = 2; repeated Entry entries = 3; int64 high_watermark = 4; }
message Entry          { int64 base_offset = 1; int64 last_offset = 2; int32 term = 3; bytes payload = 4; }
message AppendResponse { bool success = 1; int64 match_end = 2; int64 rejected_offset = 3; int64 hint_offset = 4; int32 hint_term = 5; }
message Heartbeat      { int64 high_watermark = 1; }
message Snapshot       { int64 last_offset = 1; int32 last_term = 2; bytes data = 3; }
message NoFields       { }
`;

export interface RaftWireEntry {
  baseOffset: number;
  lastOffset: number;
  term: number;
  payload: Buffer;
}

/** One Raft message of one group; exactly one of the body members is present. */
export interface RaftWireMessage {
  group: string;
  term: number;
  preVote?: { lastOffset: number; lastTerm: number };
  preVoteResponse?: { granted: boolean };
  vote?: { lastOffset: number; lastTerm: number; transfer: boolean };
  voteResponse?: { granted: boolean };
  append?: { prevOffset: number; prevTerm: number; entries: RaftWireEntry[]; highWatermark: number };
  appendResponse?: { success: boolean; matchEnd: number; rejectedOffset: number; hintOffset: number; hintTerm: number };
  heartbeat?: { highWatermark: number };
  heartbeatResponse?: Record<string, never>;
  snapshot?: { lastOffset: number; lastTerm: number; data: Buffer };
  timeoutNow?: Record<string, never>;
}

export interface RaftMessagesRequest {
  from: number;
  to: number;
  beats: Array<{ group: string; term: number; highWatermark: number }>;
  answers: Array<{ group: string; term: number }>;
  messages: RaftWireMessage[];
}

export type RaftMessagesResponse = Record<string, never>;

export const RAFT_MESSAGES_API = defineApi<RaftMessagesRequest, RaftMessagesResponse>({
  key: API_KEYS.raftMessages,
  name: 'RaftMessages',
  minVersion: 0,
  maxVersion: 0,
  schema: RAFT_MESSAGES_SCHEMA,
  package: 'strata.raft_messages',
});
