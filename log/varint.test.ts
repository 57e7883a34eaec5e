// Method: fast-check round trips over the whole sint32 and safe-int64 ranges, checked byte for byte
// against an independent BigInt reference encoder, plus known vectors and hand-made bad encodings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogError } from './errors.js';
import {
  MAX_VARINT_BYTES,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
  type ByteCursor,
} from './varint.js';

/** protobuf's sint64 encoding, on BigInt: zig-zag, then 7-bit groups little-endian. */
function referenceEncode(n: number | bigint): number[] {
  const v = BigInt.asIntN(64, BigInt(n));
  let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return out;
}

function encodeWith(write: (buf: Uint8Array, pos: number, n: number) => number, n: number): number[] {
  const buf = new Uint8Array(16);
  const end = write(buf, 0, n);
  return [...buf.subarray(0, end)];
}

function cursor(bytes: readonly number[], end = bytes.length): ByteCursor {
  return { buf: Uint8Array.from(bytes), pos: 0, end };
}

function expectInvalid(read: () => unknown): void {
  try {
    read();
  } catch (err) {
    expect(err).toBeInstanceOf(LogError);
    expect((err as LogError).errorName).toBe('INVALID_RECORD');
    return;
  }
  expect.fail('expected a LogError(INVALID_RECORD)');
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const int32 = fc.oneof(
  fc.integer({ min: INT32_MIN, max: INT32_MAX }),
  fc.constantFrom(0, -1, 1, 63, -64, 64, -65, 8191, 8192, INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1),
);
const safeInt = fc.oneof(
  fc.maxSafeInteger(),
  int32,
  fc.constantFrom(
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER - 1,
    Number.MIN_SAFE_INTEGER + 1,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 32,
    -(2 ** 32),
    2 ** 48,
    -(2 ** 48) - 1,
    2 ** 52,
    -(2 ** 52),
  ),
);

describe('varint (sint32)', () => {
  it('writes the known vectors', () => {
    const vectors: Array<[number, number[]]> = [
      [0, [0x00]],
      [-1, [0x01]],
      [1, [0x02]],
      [-2, [0x03]],
      [63, [0x7e]],
      [-64, [0x7f]],
      [64, [0x80, 0x01]],
      [-65, [0x81, 0x01]],
      [300, [0xd8, 0x04]],
      [-300, [0xd7, 0x04]],
      [INT32_MAX, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
      [INT32_MIN, [0xff, 0xff, 0xff, 0xff, 0x0f]],
    ];
    for (const [n, bytes] of vectors) {
      expect(encodeWith(writeVarint, n), `${n}`).toEqual(bytes);
      expect(sizeOfVarint(n)).toBe(bytes.length);
      const c = cursor(bytes);
      expect(readVarint(c)).toBe(n);
      expect(c.pos).toBe(bytes.length);
    }
  });

  it('round-trips every int32 and matches the reference bytes', () => {
    fc.assert(
      fc.property(int32, (n) => {
        const bytes = encodeWith(writeVarint, n);
        expect(bytes).toEqual(referenceEncode(n));
        expect(sizeOfVarint(n)).toBe(bytes.length);
        const c = cursor(bytes);
        expect(readVarint(c)).toBe(n);
        expect(c.pos).toBe(bytes.length);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads a sequence, advancing the cursor exactly', () => {
    fc.assert(
      fc.property(fc.array(int32, { maxLength: 50 }), (ns) => {
        const buf = new Uint8Array(ns.reduce((s, n) => s + sizeOfVarint(n), 0));
        let pos = 0;
        for (const n of ns) pos = writeVarint(buf, pos, n);
        expect(pos).toBe(buf.length);
        const c: ByteCursor = { buf, pos: 0, end: buf.length };
        for (const n of ns) expect(readVarint(c)).toBe(n);
        expect(c.pos).toBe(buf.length);
      }),
    );
  });

  it('rejects a truncated varint: every proper prefix, and an empty input', () => {
    fc.assert(
      fc.property(int32, (n) => {
        const bytes = encodeWith(writeVarint, n);
        for (let end = 0; end < bytes.length; end++) expectInvalid(() => readVarint(cursor(bytes, end)));
      }),
    );
  });

  it('respects the cursor end even when more bytes follow in the buffer', () => {
    expectInvalid(() => readVarint(cursor([0x80, 0x01], 1)));
  });

  it('rejects an overlong varint and a 5th byte beyond 32 bits', () => {
    expectInvalid(() => readVarint(cursor([0x80, 0x80, 0x80, 0x80, 0x80, 0x00])));
    expectInvalid(() => readVarint(cursor([0xff, 0xff, 0xff, 0xff, 0x1f])));
    expectInvalid(() => readVarint(cursor([0xff, 0xff, 0xff, 0xff, 0x8f, 0x00])));
    expect(MAX_VARINT_BYTES).toBe(5);
  });

  it('accepts a non-minimal encoding padded with 0x80, as Kafka and protobuf do', () => {
    expect(readVarint(cursor([0x80, 0x00]))).toBe(0);
    expect(readVarint(cursor([0x82, 0x80, 0x80, 0x80, 0x00]))).toBe(1);
  });
});

describe('varlong (sint64 within the safe-integer range)', () => {
  it('writes the known vectors', () => {
    const vectors: Array<[number, number[]]> = [
      [0, [0x00]],
      [-1, [0x01]],
      [1, [0x02]],
      [63, [0x7e]],
      [-64, [0x7f]],
      [64, [0x80, 0x01]],
      [300, [0xd8, 0x04]],
      [2 ** 31, [0x80, 0x80, 0x80, 0x80, 0x10]],
      [-(2 ** 31) - 1, [0x81, 0x80, 0x80, 0x80, 0x10]],
      [Number.MAX_SAFE_INTEGER, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]],
      [Number.MIN_SAFE_INTEGER, [0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]],
    ];
    for (const [n, bytes] of vectors) {
      expect(encodeWith(writeVarlong, n), `${n}`).toEqual(bytes);
      expect(referenceEncode(n)).toEqual(bytes);
      expect(sizeOfVarlong(n)).toBe(bytes.length);
      expect(readVarlong(cursor(bytes))).toBe(n);
    }
  });

  it('round-trips every safe integer and matches the reference bytes', () => {
    fc.assert(
      fc.property(safeInt, (n) => {
        const bytes = encodeWith(writeVarlong, n);
        expect(bytes).toEqual(referenceEncode(n));
        expect(sizeOfVarlong(n)).toBe(bytes.length);
        const c = cursor(bytes);
        expect(readVarlong(c)).toBe(n);
        expect(c.pos).toBe(bytes.length);
      }),
      { numRuns: 10000 },
    );
  });

  it('agrees with varint on int32 values, as Kafka writes both the same way', () => {
    fc.assert(
      fc.property(int32, (n) => {
        expect(encodeWith(writeVarlong, n)).toEqual(encodeWith(writeVarint, n));
        expect(readVarlong(cursor(encodeWith(writeVarint, n)))).toBe(n);
      }),
    );
  });

  it('rejects a truncated varlong: every proper prefix', () => {
    fc.assert(
      fc.property(safeInt, (n) => {
        const bytes = encodeWith(writeVarlong, n);
        for (let end = 0; end < bytes.length; end++) expectInvalid(() => readVarlong(cursor(bytes, end)));
      }),
    );
  });

  it('rejects values a JavaScript number cannot hold exactly, rather than rounding them', () => {
    for (const n of [2n ** 53n, -(2n ** 53n), 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n]) {
      expectInvalid(() => readVarlong(cursor(referenceEncode(n))));
    }
  });

  it('rejects a varlong longer than 10 bytes', () => {
    expectInvalid(() => readVarlong(cursor([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])));
    // Ten bytes of padding still end in range: accepted like Kafka's reader does.
    expect(readVarlong(cursor([0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]))).toBe(1);
  });
});
