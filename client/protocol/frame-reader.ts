/**
 * Cuts a TCP byte stream into frame payloads.
 *
 * The stream is a sequence of `length:uint32 BE | payload[length]`. Chunks arrive cut anywhere: a
 * frame may span many chunks and a chunk may hold many frames. The reader keeps the chunks it has
 * not consumed in a list (never concatenating them as they arrive) and the count of their bytes; a
 * frame is assembled only once all its bytes are there:
 *
 * - a payload that lies inside one chunk is returned as a view of that chunk (no copy);
 * - a payload that spans chunks is copied once, into a buffer of exactly its size.
 *
 * So every byte is copied at most once and each push costs O(chunk + frames out), whatever the
 * chunking: no quadratic re-concatenation of a growing buffer.
 *
 * A length above `maxFrameBytes` throws `FrameTooLargeError` as soon as the 4 length bytes are in,
 * before any of the payload is buffered; the reader then stays failed (the stream can no longer be
 * trusted, and the owner closes the connection).
 */
import { FrameTooLargeError, ProtocolError } from './errors.js';
import { FRAME_LENGTH_BYTES, MAX_FRAME_BYTES_CEILING } from './limits.js';

export class FrameReader {
  readonly maxFrameBytes: number;
  /** Chunks not yet consumed start at `chunks[headIndex]`, at byte `headOffset` of it. */
  private chunks: Buffer[] = [];
  private headIndex = 0;
  private headOffset = 0;
  /** Unconsumed bytes across `chunks` (from `headOffset` on). */
  private buffered = 0;
  /** Payload length of the frame being read, once its 4 length bytes were consumed; else -1. */
  private pendingLength = -1;
  private failure: ProtocolError | undefined;

  constructor(maxFrameBytes: number) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > MAX_FRAME_BYTES_CEILING) {
      throw new RangeError(`maxFrameBytes must be an integer in [0, ${MAX_FRAME_BYTES_CEILING}], got ${maxFrameBytes}`);
    }
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held, waiting for the rest of their frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True between a frame's first byte and its last: part of a frame (its length, maybe) was read. */
  get inFrame(): boolean {
    return this.buffered > 0 || this.pendingLength >= 0;
  }

  /** Takes the next chunk of the stream; returns the payloads of the frames it completed, in order. */
  push(chunk: Buffer): Buffer[] {
    if (this.failure !== undefined) throw this.failure;
    const frames: Buffer[] = [];
    if (chunk.length === 0) return frames;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.pendingLength < 0) {
        if (this.buffered < FRAME_LENGTH_BYTES) break;
        const length = this.take(FRAME_LENGTH_BYTES).readUInt32BE(0);
        if (length > this.maxFrameBytes) {
          this.failure = new FrameTooLargeError(length, this.maxFrameBytes);
          this.chunks = [];
          this.headIndex = 0;
          this.buffered = 0;
          throw this.failure;
        }
        this.pendingLength = length;
      }
      if (this.buffered < this.pendingLength) break;
      frames.push(this.take(this.pendingLength));
      this.pendingLength = -1;
    }
    // Drop consumed chunks once per push (not per chunk, which would be quadratic in chunk count).
    if (this.headIndex > 0) {
      this.chunks = this.chunks.slice(this.headIndex);
      this.headIndex = 0;
    }
    return frames;
  }

  /** Consumes `n <= buffered` bytes: a view when they lie in the head chunk, else one copy. */
  private take(n: number): Buffer {
    const head = this.chunks[this.headIndex];
    if (n === 0 || head === undefined) return Buffer.alloc(0);
    const headLeft = head.length - this.headOffset;
    if (n <= headLeft) {
      const view = head.subarray(this.headOffset, this.headOffset + n);
      this.advance(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let written = 0;
    while (written < n) {
      const chunk = this.chunks[this.headIndex]!;
      const count = Math.min(n - written, chunk.length - this.headOffset);
      chunk.copy(out, written, this.headOffset, this.headOffset + count);
      written += count;
      this.advance(count);
    }
    return out;
  }

  /** Moves past `n` bytes that lie in the head chunk, stepping to the next chunk when it is used up. */
  private advance(n: number): void {
    this.headOffset += n;
    this.buffered -= n;
    if (this.headOffset === this.chunks[this.headIndex]!.length) {
      this.headIndex += 1;
      this.headOffset = 0;
    }
  }
}
