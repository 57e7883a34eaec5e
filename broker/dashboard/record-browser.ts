/**
 * The dashboard's message browser: one page of a partition's records, from an offset or from the
 * first record at or after a time, as `GET /v1/topics/:topic/partitions/:p/records` answers it.
 *
 *   query:  offset=N | timestamp=MS-or-ISO-8601 (at most one; neither: the log start), limit=1..500 (50)
 *   answer: { topic, partition, logStartOffset, highWatermark, nextOffset,
 *             records: [{ offset, timestamp, key, value, headers: [{ key, value }] }] }
 *   bytes:  null, or { size, text (UTF-8, or null when the bytes are not), hex, truncated }
 *           with text and hex of at most the first `PREVIEW_BYTES` bytes.
 *
 * Only what consumers may see is shown: reads stop below the high watermark of the replica that
 * answers (on a follower its own, which never passes the leader's), and control batches (the
 * leader-change markers Raft appends) are skipped, as a consumer skips them. An offset below the log
 * start starts at the log start; one at or past the high watermark gives an empty page whose
 * `nextOffset` is that offset, so a browser can wait for more. `nextOffset` is where the next page
 * starts. Every page reads at most `limit` records and a bounded number of bytes.
 *
 * Bad input is a `StrataError('INVALID_REQUEST')` naming the parameter; an unknown partition is
 * UNKNOWN_TOPIC_OR_PARTITION.
 */
import { StrataError } from '../../client/protocol/index.js';
import { asOffset, CONTROL_FLAG, decodeBatches, type Record as LogRecord } from '../../log/index.js';
import type { Partition } from '../partition.js';

export const RECORDS_LIMIT_DEFAULT = 50;
export const RECORDS_LIMIT_MAX = 500;
/** Bytes of a key, value or header value shown; the rest is counted in `size` only. */
export const PREVIEW_BYTES = 16 * 1024;
/** Bytes asked of the log per read; a page of `limit` small records takes one. */
const READ_CHUNK_BYTES = 1024 * 1024;
/** Reads per page at most, so a long run of control batches or compacted gaps cannot spin. */
const READS_PER_PAGE_MAX = 16;

export type RecordsStart = { readonly kind: 'offset'; readonly offset: number } | { readonly kind: 'timestamp'; readonly timestamp: number } | { readonly kind: 'logStart' };

export interface RecordsQuery {
  readonly start: RecordsStart;
  readonly limit: number;
}

export interface BrowsedBytes {
  readonly size: number;
  readonly text: string | null;
  readonly hex: string;
  readonly truncated: boolean;
}

export interface BrowsedRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: BrowsedBytes | null;
  readonly value: BrowsedBytes | null;
  readonly headers: readonly { readonly key: string; readonly value: BrowsedBytes | null }[];
}

export interface RecordsPage {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly nextOffset: number;
  readonly records: readonly BrowsedRecord[];
}

const QUERY_KEYS = new Set(['offset', 'timestamp', 'limit']);
const DIGITS = /^[0-9]{1,16}$/;

function invalid(message: string): StrataError {
  return new StrataError('INVALID_REQUEST', message);
}

/** A non-negative safe integer written in decimal digits, or an error naming `what`. */
function nonNegativeInteger(value: unknown, what: string): number {
  if (typeof value !== 'string') throw invalid(`${what} must be given once`);
  const n = DIGITS.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw invalid(`${what} must be a non-negative integer, got '${value}'`);
  return n;
}

/** The `:p` route parameter. */
export function parsePartitionParam(value: string): number {
  return nonNegativeInteger(value, 'partition');
}

/** Checks the query string of a records request. */
export function parseRecordsQuery(query: { readonly [key: string]: unknown }): RecordsQuery {
  for (const key of Object.keys(query)) {
    if (!QUERY_KEYS.has(key)) throw invalid(`unknown query parameter '${key}'; use offset, timestamp or limit`);
  }
  const { offset, timestamp, limit } = query;
  if (offset !== undefined && timestamp !== undefined) throw invalid('give offset or timestamp, not both');
  let parsedLimit = RECORDS_LIMIT_DEFAULT;
  if (limit !== undefined) {
    parsedLimit = nonNegativeInteger(limit, 'limit');
    if (parsedLimit < 1 || parsedLimit > RECORDS_LIMIT_MAX) throw invalid(`limit must be from 1 to ${RECORDS_LIMIT_MAX}, got ${parsedLimit}`);
  }
  if (offset !== undefined) return { start: { kind: 'offset', offset: nonNegativeInteger(offset, 'offset') }, limit: parsedLimit };
  if (timestamp !== undefined) return { start: { kind: 'timestamp', timestamp: parseTimestamp(timestamp) }, limit: parsedLimit };
  return { start: { kind: 'logStart' }, limit: parsedLimit };
}

/** Milliseconds since the epoch, or an ISO 8601 date-time (`2026-11-24T10:00:00Z`). */
function parseTimestamp(value: unknown): number {
  if (typeof value !== 'string') throw invalid('timestamp must be given once');
  if (DIGITS.test(value)) return nonNegativeInteger(value, 'timestamp');
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0) throw invalid(`timestamp must be milliseconds since 1970 or an ISO 8601 date-time, got '${value}'`);
  return ms;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function browseBytes(bytes: Buffer | null): BrowsedBytes | null {
  if (bytes === null) return null;
  const shown = bytes.subarray(0, PREVIEW_BYTES);
  const truncated = shown.length < bytes.length;
  let text: string | null;
  try {
    // A preview cut inside a multi-byte character is still text: decode the whole, then cut.
    text = truncated ? utf8.decode(bytes).slice(0, PREVIEW_BYTES) : utf8.decode(shown);
  } catch {
    text = null;
  }
  return { size: bytes.length, text, hex: shown.toString('hex'), truncated };
}

function browse(record: LogRecord): BrowsedRecord {
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    key: browseBytes(record.key),
    value: browseBytes(record.value),
    headers: record.headers.map((h) => ({ key: h.key, value: browseBytes(h.value) })),
  };
}

/** Reads one page of `partition` (any replica of it) as the query asks. */
export async function readRecordsPage(partition: Partition, query: RecordsQuery): Promise<RecordsPage> {
  const highWatermark = partition.highWatermark;
  const logStartOffset = partition.logStartOffset;
  let from: number;
  switch (query.start.kind) {
    case 'offset':
      from = Math.max(query.start.offset, logStartOffset);
      break;
    case 'timestamp':
      from = (await partition.log.offsetForTimestamp(query.start.timestamp))?.offset ?? highWatermark;
      break;
    case 'logStart':
      from = logStartOffset;
      break;
  }
  const page = { topic: partition.topic, partition: partition.index, logStartOffset, highWatermark };
  if (from >= highWatermark) return { ...page, nextOffset: from, records: [] };

  const records: BrowsedRecord[] = [];
  let position = from;
  for (let reads = 0; reads < READS_PER_PAGE_MAX && position < highWatermark && records.length < query.limit; reads++) {
    const { bytes, nextOffset } = await partition.log.read(asOffset(position), { maxBytes: READ_CHUNK_BYTES, maxOffset: highWatermark });
    if (bytes.length === 0) break;
    let next = nextOffset as number;
    batches: for (const { header, records: batchRecords } of decodeBatches(bytes)) {
      if ((header.attributes & CONTROL_FLAG) !== 0) continue;
      for (const record of batchRecords) {
        if (record.offset < position || record.offset >= highWatermark) continue;
        if (records.length === query.limit) {
          next = record.offset;
          break batches;
        }
        records.push(browse(record));
      }
    }
    position = next;
  }
  return { ...page, nextOffset: position, records };
}
