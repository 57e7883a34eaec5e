// Method: property tests concatenate random frames into one stream, cut it at random points (and at
// every byte boundary for a fixed stream), feed the pieces to a FrameReader and check the payloads
// come out whole, in order, and as views when a frame sat in one chunk; oversized lengths must throw
// FrameTooLargeError before the payload is buffered.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERRORS, FrameReader, FrameTooLargeError, ProtocolError } from './index.js';

function frameOf(payload: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(payload.length, 0);
  return Buffer.concat([length, payload]);
}

const payloads = fc.array(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), { maxLength: 12 });

/** Cuts `stream` at the given (sorted, deduplicated) positions. */
function cut(stream: Buffer, positions: number[]): Buffer[] {
  const points = [...new Set(positions.map((p) => p % (stream.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(stream.subarray(from, p));
    from = p;
  }
  chunks.push(stream.subarray(from));
  return chunks;
}

describe('FrameReader', () => {
  it('returns every frame whole and in order, however the stream is cut', () => {
    fc.assert(fc.property(payloads, fc.array(fc.nat(), { maxLength: 40 }), (frames, positions) => {
      const stream = Buffer.concat(frames.map(frameOf));
      const reader = new FrameReader(1024);
      const out = cut(stream, positions).flatMap((chunk) => reader.push(chunk));
      expect(out.map((b) => b.toString('hex'))).toEqual(frames.map((b) => b.toString('hex')));
      expect(reader.bufferedBytes).toBe(0);
    }), { numRuns: 500 });
  });

  it('returns every frame whatever single byte boundary the stream is split at', () => {
    fc.assert(fc.property(payloads.filter((f) => f.length > 0), (frames) => {
      const stream = Buffer.concat(frames.map(frameOf));
      const expected = frames.map((b) => b.toString('hex'));
      for (let at = 0; at <= stream.length; at++) {
        const reader = new FrameReader(1024);
        const out = [...reader.push(stream.subarray(0, at)), ...reader.push(stream.subarray(at))];
        expect(out.map((b) => b.toString('hex'))).toEqual(expected);
      }
    }), { numRuns: 50 });
  });

  it('handles a split at every byte boundary of a fixed stream, and byte-at-a-time', () => {
    const frames = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello world'), Buffer.alloc(70_000, 7), Buffer.from([1, 2, 3])];
    const stream = Buffer.concat(frames.map(frameOf));
    const expected = frames.map((b) => b.toString('hex'));
    for (let at = 0; at <= stream.length; at += at < 200 || at > stream.length - 200 ? 1 : 997) {
      const reader = new FrameReader(100_000);
      const out = [...reader.push(stream.subarray(0, at)), ...reader.push(stream.subarray(at))];
      expect(out.map((b) => b.toString('hex'))).toEqual(expected);
    }
    const reader = new FrameReader(100_000);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...reader.push(stream.subarray(i, i + 1)));
    expect(out.map((b) => b.toString('hex'))).toEqual(expected);
  });

  it('returns a view, not a copy, for a frame inside one chunk', () => {
    const stream = Buffer.concat([frameOf(Buffer.from('one')), frameOf(Buffer.from('two'))]);
    const [one, two] = new FrameReader(10).push(stream);
    expect(one!.buffer).toBe(stream.buffer);
    expect(two!.buffer).toBe(stream.buffer);
    expect(two!.toString()).toBe('two');
  });

  it('rejects a length above the limit before buffering the payload, and stays failed', () => {
    const reader = new FrameReader(100);
    expect(reader.push(frameOf(Buffer.alloc(100)))).toHaveLength(1);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(101, 0);
    let thrown: unknown;
    try {
      reader.push(header.subarray(0, 2));
      reader.push(header.subarray(2));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FrameTooLargeError);
    expect(thrown).toBeInstanceOf(ProtocolError);
    expect((thrown as FrameTooLargeError).code).toBe(ERRORS.FRAME_TOO_LARGE.code);
    expect(reader.bufferedBytes).toBe(0);
    expect(() => reader.push(Buffer.from([0]))).toThrow(FrameTooLargeError);
  });

  it('rejects a 4 GiB length without allocating it', () => {
    expect(() => new FrameReader(1024 * 1024).push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(FrameTooLargeError);
  });

  it('stays linear with a large frame fed in many small chunks', () => {
    // 8 MiB in 1 KiB chunks: quadratic concatenation would copy ~32 GiB; this copies 8 MiB once.
    const payload = Buffer.alloc(8 * 1024 * 1024, 3);
    const stream = frameOf(payload);
    const reader = new FrameReader(16 * 1024 * 1024);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 1024) out.push(...reader.push(stream.subarray(i, i + 1024)));
    expect(out).toHaveLength(1);
    expect(out[0]!.equals(payload)).toBe(true);
  });
});
