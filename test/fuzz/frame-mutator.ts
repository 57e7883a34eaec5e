/**
 * Request frames for the fuzzer: encodes a generated request the way a client would, then damages
 * the bytes. A frame is
 *
 *   length uint32 BE | header length varint | RequestHeader (protobuf) | body (the API's message)
 *
 * and the header is written by hand here (not with `encodeRequestFrame`) so that any api key and
 * version can be put in front of any body: an OffsetCommit body read as a Fetch, version 7 of an
 * API that has only version 0. Mutations act on the whole frame (bit flips, insertions, deletions,
 * truncation, a lying or oversized length prefix) or on its parts (wrong key or version, a body
 * whose fields repeat: protobuf merges a message appended to itself, so every repeated field doubles
 * and every scalar is given twice). A frame that keeps a length prefix lying about its size makes
 * the broker read into the next frame on that connection, which is part of the test.
 */
import { API_KEY_LIST, API_KEYS, decodeRequestFrame, encodeRequestBody, type ApiKey } from '../../client/protocol/index.js';
import type { FuzzRandom } from './fuzz-prng.js';
import type { GeneratedRequest } from './request-generator.js';

export interface FuzzFrame {
  readonly bytes: Buffer;
  /** `Produce v0 [bit flips x3] valid-CRC batch: recordsCount=16777216`, for the failure report. */
  readonly description: string;
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** A RequestHeader: api_key (1), api_version (2), correlation_id (3), client_id (4). */
function encodeHeader(apiKey: number, apiVersion: number, correlationId: number, clientId: string): Buffer {
  const id = Buffer.from(clientId);
  return Buffer.from([0x08, ...varint(apiKey), 0x10, ...varint(apiVersion), 0x18, ...varint(correlationId), 0x22, ...varint(id.length), ...id]);
}

function assemble(header: Buffer, body: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from(varint(header.length)), header, body]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(payload.length);
  return Buffer.concat([length, payload]);
}

function setLength(frame: Buffer, length: number): Buffer {
  const copy = Buffer.from(frame);
  copy.writeUInt32BE(length >>> 0, 0);
  return copy;
}

function fixLength(frame: Buffer): Buffer {
  return setLength(frame, frame.length - 4);
}

interface Parts {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  body: Buffer;
}

type Mutation = (rng: FuzzRandom, parts: Parts) => { bytes: Buffer; note: string };

const whole = (parts: Parts) => assemble(encodeHeader(parts.apiKey, parts.apiVersion, parts.correlationId, 'fuzz'), parts.body);

/** Frame mutations, weighted. Each returns the damaged frame. */
const MUTATIONS: ReadonlyArray<readonly [number, Mutation]> = [
  [4, (rng, parts) => {
    const frame = whole(parts);
    const flips = rng.between(1, 8);
    // Mostly past the length prefix, so the frame is read whole and its content is what breaks.
    for (let i = 0; i < flips; i++) {
      const at = rng.chance(0.95) && frame.length > 4 ? 4 + rng.below(frame.length - 4) : rng.below(frame.length);
      frame[at]! ^= 1 << rng.below(8);
    }
    return { bytes: frame, note: `${flips} bit flips` };
  }],
  [2, (rng, parts) => {
    const frame = whole(parts);
    const at = 4 + rng.below(frame.length - 3);
    const inserted = rng.chance(0.5) ? rng.bytes(rng.between(1, 16)) : Buffer.alloc(rng.between(1, 16), rng.pick([0x00, 0xff, 0x80]));
    const grown = Buffer.concat([frame.subarray(0, at), inserted, frame.subarray(at)]);
    const fixed = rng.chance(0.7);
    return { bytes: fixed ? fixLength(grown) : grown, note: `${inserted.length} bytes inserted at ${at}${fixed ? '' : ', length not fixed'}` };
  }],
  [2, (rng, parts) => {
    const frame = whole(parts);
    const at = 4 + rng.below(frame.length - 4);
    const n = rng.between(1, Math.min(16, frame.length - at));
    const shrunk = Buffer.concat([frame.subarray(0, at), frame.subarray(at + n)]);
    const fixed = rng.chance(0.7);
    return { bytes: fixed ? fixLength(shrunk) : shrunk, note: `${n} bytes deleted at ${at}${fixed ? '' : ', length not fixed'}` };
  }],
  [2, (rng, parts) => {
    const frame = whole(parts);
    const keep = 4 + rng.below(frame.length - 4);
    const fixed = rng.chance(0.5);
    const cut = frame.subarray(0, keep);
    return { bytes: fixed ? fixLength(cut) : Buffer.from(cut), note: `truncated to ${keep} bytes${fixed ? ', length fixed' : ''}` };
  }],
  [2, (rng, parts) => {
    const frame = whole(parts);
    const real = frame.length - 4;
    const lie = rng.pick([0, 1, real - 1, real + 1, real + rng.between(2, 100), Math.max(0, real - rng.between(2, 100)), rng.below(2 ** 20)]);
    return { bytes: setLength(frame, lie), note: `length ${lie}, real ${real}` };
  }],
  [1, (rng, parts) => {
    const frame = whole(parts);
    const lie = rng.pick([0x7fffffff, 0xffffffff, 0x80000000, 100 * 1024 * 1024 + 1, 2 ** 30]);
    return { bytes: setLength(frame, lie), note: `oversized length ${lie}` };
  }],
  [3, (rng, parts) => {
    const registered = API_KEY_LIST.filter((k) => k !== parts.apiKey);
    const apiKey = rng.chance(0.7) ? rng.pick(registered) : rng.pick([4, 5, 99, 255, 1000, 2 ** 31 - 1, 2 ** 32 - 1]);
    return { bytes: whole({ ...parts, apiKey }), note: `sent as api key ${apiKey}` };
  }],
  [2, (rng, parts) => {
    const apiVersion = rng.pick([1, 2, 7, 255, 2 ** 31 - 1, 2 ** 32 - 1]);
    return { bytes: whole({ ...parts, apiVersion }), note: `api version ${apiVersion}` };
  }],
  [2, (rng, parts) => {
    const times = rng.between(2, 6);
    const body = Buffer.concat(Array.from({ length: times }, () => parts.body));
    return { bytes: whole({ ...parts, body }), note: `body repeated x${times}` };
  }],
  [1, (rng, parts) => {
    const from = rng.below(parts.body.length + 1);
    const to = from + rng.below(parts.body.length - from + 1);
    const body = Buffer.concat([parts.body, parts.body.subarray(from, to)]);
    return { bytes: whole({ ...parts, body }), note: `body bytes ${from}..${to} appended` };
  }],
  [1, (rng, parts) => {
    const header = rng.bytes(rng.between(0, 24));
    return { bytes: assemble(header, parts.body), note: `random header of ${header.length} bytes` };
  }],
  [1, (rng) => {
    const body = rng.bytes(rng.between(0, 200));
    const apiKey = rng.pick(API_KEY_LIST);
    return { bytes: assemble(encodeHeader(apiKey, 0, 1, 'fuzz'), body), note: `api key ${apiKey} with a random body` };
  }],
];

/** What a mutated frame must never become: a valid request deleting what the checks rely on. */
export interface Protected {
  readonly topics: readonly string[];
  readonly groups: readonly string[];
}

/**
 * Whether `frame` decodes as a DeleteTopics or DeleteGroups request naming something protected. A
 * mutation can make one (a Metadata body, whose field 1 lists topic names, sent under DeleteTopics's
 * key): a valid request the broker must obey, which would fail the health check for no bug.
 */
function deletesProtected(frame: Buffer, protect: Protected): boolean {
  if (frame.length < 4 || frame.readUInt32BE(0) !== frame.length - 4) return false;
  try {
    const request = decodeRequestFrame(frame.subarray(4));
    if (request.apiKey === API_KEYS.deleteTopics) return request.body.topics.some((t) => protect.topics.includes(t));
    if (request.apiKey === API_KEYS.deleteGroups) return request.body.groupIds.some((g) => protect.groups.includes(g));
    return false;
  } catch {
    return false;
  }
}

/** Mutations tried before a frame that keeps deleting protected names is sent unmutated. */
const MUTATION_ATTEMPTS = 4;

/**
 * The frame of `request` under correlation id `correlationId`: unchanged with probability
 * `validShare`, else with one mutation (redrawn if it would delete a protected topic or group).
 */
export function requestFrame(rng: FuzzRandom, request: GeneratedRequest<ApiKey>, correlationId: number, validShare: number, protect: Protected): FuzzFrame {
  const parts: Parts = { apiKey: request.apiKey, apiVersion: 0, correlationId, body: encodeRequestBody(request.apiKey, request.body) };
  const label = `api ${request.apiKey}${request.note === '' ? '' : ` (${request.note})`}`;
  if (!rng.chance(validShare)) {
    for (let attempt = 0; attempt < MUTATION_ATTEMPTS; attempt++) {
      const mutated = rng.weighted(MUTATIONS)(rng, parts);
      if (!deletesProtected(mutated.bytes, protect)) return { bytes: mutated.bytes, description: `${label}, ${mutated.note}` };
    }
  }
  return { bytes: whole(parts), description: `${label}, not mutated` };
}
