/**
 * Zig-zag varints, the integer encoding inside Kafka records (protobuf's sint32 / sint64).
 *
 * A signed value n is first zig-zag mapped to an unsigned z so that small magnitudes of either sign
 * stay short (0→0, -1→1, 1→2, -2→3, …), then written little-endian in 7-bit groups, the high bit of
 * each byte set when another byte follows:
 *
 *   n = 300   z = 600 = 0b100_1011000   bytes: 1101_1000 0000_0100   (d8 04)
 *
 * - varint: a 32-bit signed value (offset deltas, lengths, counts), 1 to 5 bytes.
 * - varlong: a 64-bit signed value (timestamp deltas), 1 to 10 bytes. JavaScript numbers hold it
 *   exactly only within ±(2^53 - 1), so Strata reads and writes the safe-integer range and rejects a
 *   varlong outside it rather than round it.
 *
 * Reading rejects, with `LogError('INVALID_RECORD')`, a varint that runs past its bound (truncated),
 * that is longer than its type allows (more than 5 / 10 bytes, Kafka's "varint is too long"), or
 * whose payload does not fit the type (a 5th varint byte above 0x0f, which Kafka's reader would
 * silently truncate). Like Kafka and protobuf it accepts a non-minimal encoding padded with 0x80
 * bytes (e.g. `80 00` for 0): no encoder writes one, and refusing it would make Strata reject bytes
 * Kafka accepts.
 *
 * Readers advance a `ByteCursor` in place instead of returning `{ value, pos }` pairs, so decoding a
 * record allocates nothing for its integers.
 */
import { LogError } from './errors.js';

/**
 * A read position inside `buf`, never allowed past `end`. A record decoder narrows `end` to the
 * record it is reading, so a field cannot run into the next record.
 */
export interface ByteCursor {
  readonly buf: Uint8Array;
  pos: number;
  end: number;
}

export const MAX_VARINT_BYTES = 5;
export const MAX_VARLONG_BYTES = 10;

const TWO_27 = 2 ** 27;
const TWO_32 = 2 ** 32;

function truncated(c: ByteCursor, start: number, what: string): LogError {
  return new LogError('INVALID_RECORD', `${what} at ${start} is truncated (record ends at ${c.end})`);
}

/** Bytes `writeVarint` uses for the int32 `n`. */
export function sizeOfVarint(n: number): number {
  const z = ((n << 1) ^ (n >> 31)) >>> 0;
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  return 5;
}

/** Bytes `writeVarlong` uses for the safe integer `n`. */
export function sizeOfVarlong(n: number): number {
  if ((n | 0) === n) return sizeOfVarint(n);
  // Outside int32 the zig-zag value may exceed 2^53, where an odd number rounds; rounding never
  // crosses a 7-bit size boundary (the largest here is 2^49 < 2^53), so the size stays exact.
  let z = n >= 0 ? 2 * n : -2 * n - 1;
  let size = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 0x80);
    size++;
  }
  return size;
}

/** Writes the int32 `n` at `pos`; returns the position after it. The caller sized `buf`. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  let z = ((n << 1) ^ (n >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/** Writes the safe integer `n` at `pos`; returns the position after it. The caller sized `buf`. */
export function writeVarlong(buf: Uint8Array, pos: number, n: number): number {
  if ((n | 0) === n) return writeVarint(buf, pos, n);
  // Zig-zag in two 32-bit halves of the two's-complement int64, as `(n << 1) ^ (n >> 63)` would on
  // a real int64: the whole z may not be representable as a double.
  const hi = Math.floor(n / TWO_32);
  const lo = n - hi * TWO_32;
  const sign = hi >> 31;
  let zlo = ((lo << 1) ^ sign) >>> 0;
  let zhi = (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0;
  while (zhi !== 0 || zlo >= 0x80) {
    buf[pos++] = (zlo & 0x7f) | 0x80;
    zlo = ((zlo >>> 7) | (zhi << 25)) >>> 0;
    zhi >>>= 7;
  }
  buf[pos++] = zlo;
  return pos;
}

/** Reads an int32 varint at the cursor and advances it. */
export function readVarint(c: ByteCursor): number {
  const buf = c.buf;
  const end = c.end;
  const start = c.pos;
  let pos = start;
  if (pos >= end) throw truncated(c, start, 'varint');
  let b = buf[pos++]!;
  if (b < 0x80) {
    c.pos = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  let z = b & 0x7f;
  for (let shift = 7; ; shift += 7) {
    if (pos >= end) throw truncated(c, start, 'varint');
    b = buf[pos++]!;
    if (shift === 28) {
      // The 5th byte carries bits 28-31 only: anything above them is out of range or overlong.
      if (b > 0x0f) throw new LogError('INVALID_RECORD', `varint at ${start} is longer than ${MAX_VARINT_BYTES} bytes or exceeds 32 bits`);
      z |= b << 28;
      break;
    }
    z |= (b & 0x7f) << shift;
    if (b < 0x80) break;
  }
  c.pos = pos;
  return (z >>> 1) ^ -(z & 1);
}

/** Reads a varlong at the cursor and advances it; rejects values outside the safe-integer range. */
export function readVarlong(c: ByteCursor): number {
  const buf = c.buf;
  const end = c.end;
  const start = c.pos;
  let pos = start;
  // Bits 0-27 (four bytes) fit int32 arithmetic; almost every timestamp delta ends here.
  let lo = 0;
  let b = 0x80;
  for (let shift = 0; shift < 28 && b >= 0x80; shift += 7) {
    if (pos >= end) throw truncated(c, start, 'varlong');
    b = buf[pos++]!;
    lo |= (b & 0x7f) << shift;
  }
  if (b < 0x80) {
    c.pos = pos;
    return (lo >>> 1) ^ -(lo & 1);
  }
  // Bits 28 and up, counted in units of 2^28, in float arithmetic (exact below 2^53).
  let hi = 0;
  let scale = 1;
  do {
    if (pos - start === MAX_VARLONG_BYTES) {
      throw new LogError('INVALID_RECORD', `varlong at ${start} is longer than ${MAX_VARLONG_BYTES} bytes`);
    }
    if (pos >= end) throw truncated(c, start, 'varlong');
    b = buf[pos++]!;
    hi += (b & 0x7f) * scale;
    scale *= 0x80;
  } while (b >= 0x80);
  // z = lo + hi * 2^28. z >>> 1 is exact when hi < 2^26; a larger z decodes to |n| >= 2^53.
  if (hi >= 2 ** 26) throw new LogError('INVALID_RECORD', `varlong at ${start} is outside the safe integer range`);
  const half = (lo >>> 1) + hi * TWO_27;
  const n = (lo & 1) === 0 ? half : -half - 1;
  if (!Number.isSafeInteger(n)) throw new LogError('INVALID_RECORD', `varlong at ${start} is outside the safe integer range`);
  c.pos = pos;
  return n;
}
