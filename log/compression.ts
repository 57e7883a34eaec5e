/**
 * Compression of a record batch's records section: codec 0 (none) and codec 3 (lz4). A batch is
 * compressed as one unit — every record after the 61-byte header — so this file sees plain bytes and
 * knows nothing of records.
 *
 * lz4 in Kafka means the LZ4 *frame* format (lz4_Frame_format.md v1.6), not raw LZ4 blocks.
 * All integers little-endian:
 *
 *   field          size  value Kafka writes (Lz4BlockOutputStream, formerly KafkaLZ4BlockOutputStream)
 *   -------------  ----  ---------------------------------------------------------------------------
 *   magic             4  0x184D2204                         bytes 04 22 4d 18
 *   FLG               1  0x60: version 01, block independence 1, block checksum 0,
 *                          content size 0, content checksum 0, dict id 0
 *   BD                1  0x40: block max size code 4 = 64 KiB
 *   [content size]    8  only when FLG bit 3 is set (Kafka never sets it)
 *   [dict id]         4  only when FLG bit 0 is set (Kafka never sets it)
 *   HC                1  (xxHash32(FLG..before HC, seed 0) >> 8) & 0xff; 0x82 for 60 40
 *   blocks            …  u32 size (high bit set: stored raw) + data [+ u32 xxHash32 of the data when
 *                          FLG bit 4]; Kafka stores a block raw when LZ4 does not make it smaller
 *   end mark          4  0
 *   [content check]   4  xxHash32 of all decompressed bytes, only when FLG bit 2 (Kafka never sets it)
 *
 * So a Kafka lz4 frame opens `04 22 4d 18 60 40 82`. Verified against Apache Kafka's
 * clients/.../compress/Lz4BlockOutputStream.java: `BLOCKSIZE_64KB = 4`, `new FLG(blockChecksum=false)`
 * = independence 1 and no checksums, `writeEndMark` writes 0 and no content checksum ("TODO").
 * Kafka clients before 0.10 computed HC over the magic too; Kafka still reads such frames (magic
 * v0/v1 batches only), and so does Strata, since accepting them costs one more hash on mismatch.
 *
 * Writing reproduces Kafka's frame exactly. Reading accepts any valid frame, as other producers
 * write them: kafkajs's LZ4 plugin (node-lz4) uses 4 MiB blocks with a content checksum; the
 * reference `lz4` tool links blocks. Checksums present are verified. Dependent (linked) blocks,
 * which Kafka itself rejects, are decoded by a small JavaScript block decoder whose matches may
 * reach into earlier blocks; independent blocks go to the native LZ4_decompress_safe.
 *
 * Decompressed output never exceeds the caller's `maxBytes`, so a small hostile batch cannot make
 * the decoder allocate gigabytes: the output grows as blocks arrive and each block's room is
 * capped by the limit, by the frame's block size and by 255 × its compressed size (the most LZ4 can
 * expand: a sequence of 3 + k bytes yields at most 19 + 255·k). The room is first tried at 4:1, so
 * a frame with 4 MiB blocks does not cost megabytes of buffer for a small batch.
 *
 * Pure functions over buffers; no state survives a call.
 */
import lz4 from 'lz4';
import { CompressionCodec } from './batch-header.js';
import { LogError } from './errors.js';

export const LZ4_FRAME_MAGIC = 0x184d2204;
const LZ4_SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_SKIPPABLE_MASK = 0xfffffff0;
/** Kafka's block size: the BD code 4 (64 KiB). */
export const LZ4_KAFKA_BLOCK_BYTES = 64 * 1024;
const LZ4_BLOCK_RAW = 0x80000000;
const LZ4_MAX_EXPANSION = 255;

const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_01 = 0x40;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;
const BD_RESERVED = 0x8f;

const KAFKA_FLG = FLG_VERSION_01 | FLG_BLOCK_INDEPENDENCE;
const KAFKA_BD = 4 << 4;
/** Magic, FLG, BD and HC: the 7 bytes that open every frame Strata writes. */
const KAFKA_FRAME_HEADER: Buffer = (() => {
  const header = Buffer.alloc(7);
  header.writeUInt32LE(LZ4_FRAME_MAGIC, 0);
  header[4] = KAFKA_FLG;
  header[5] = KAFKA_BD;
  header[6] = headerChecksum(header.subarray(4, 6));
  return header;
})();
const FRAME_OVERHEAD_BYTES = KAFKA_FRAME_HEADER.length + 4;

function xxh32(bytes: Uint8Array): number {
  return lz4.utils.blockChecksum(bytes) >>> 0;
}

function headerChecksum(descriptor: Uint8Array): number {
  return (xxh32(descriptor) >>> 8) & 0xff;
}

function readU32LE(buf: Uint8Array, pos: number): number {
  return (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24)) >>> 0;
}

function writeU32LE(buf: Uint8Array, pos: number, n: number): void {
  buf[pos] = n & 0xff;
  buf[pos + 1] = (n >>> 8) & 0xff;
  buf[pos + 2] = (n >>> 16) & 0xff;
  buf[pos + 3] = n >>> 24;
}

function corrupt(detail: string): LogError {
  return new LogError('CORRUPT_MESSAGE', `lz4: ${detail}`);
}

/** Upper bound of the frame `writeLz4Frame` produces for `srcBytes` bytes (incompressible input). */
export function lz4FrameBound(srcBytes: number): number {
  return FRAME_OVERHEAD_BYTES + srcBytes + 4 * Math.ceil(srcBytes / LZ4_KAFKA_BLOCK_BYTES);
}

/**
 * Writes `src` as one LZ4 frame laid out exactly as Kafka writes it, at `dst[pos]`; returns the
 * position after the frame. `dst` must have `lz4FrameBound(src.length)` bytes from `pos`.
 */
export function writeLz4Frame(src: Uint8Array, dst: Uint8Array, pos: number): number {
  dst.set(KAFKA_FRAME_HEADER, pos);
  pos += KAFKA_FRAME_HEADER.length;
  for (let off = 0; off < src.length; off += LZ4_KAFKA_BLOCK_BYTES) {
    const len = Math.min(LZ4_KAFKA_BLOCK_BYTES, src.length - off);
    const block = src.subarray(off, off + len);
    // Room for len - 1 bytes: LZ4 reports 0 unless the block shrinks, which is exactly when Kafka
    // keeps the compressed form (it stores raw when compressed >= original). Compressing straight
    // into the frame saves a copy per block.
    const compressed = len > 1 ? lz4.encodeBlock(block, dst.subarray(pos + 4, pos + 4 + len - 1)) : 0;
    if (compressed > 0) {
      writeU32LE(dst, pos, compressed);
      pos += 4 + compressed;
    } else {
      writeU32LE(dst, pos, (len | LZ4_BLOCK_RAW) >>> 0);
      dst.set(block, pos + 4);
      pos += 4 + len;
    }
  }
  writeU32LE(dst, pos, 0);
  return pos + 4;
}

/** `src` as a Kafka-style LZ4 frame in a buffer of exactly its size. */
export function lz4CompressFrame(src: Uint8Array): Buffer {
  const scratch = Buffer.allocUnsafe(lz4FrameBound(src.length));
  const end = writeLz4Frame(src, scratch, 0);
  return Buffer.from(scratch.subarray(0, end));
}

/** An output buffer that grows as blocks are decoded, never past `maxBytes`. */
interface Output {
  buf: Buffer;
  pos: number;
  readonly maxBytes: number;
}

function ensureRoom(out: Output, bytes: number): void {
  const need = out.pos + bytes;
  if (need <= out.buf.length) return;
  const next = Buffer.allocUnsafe(Math.min(out.maxBytes, Math.max(need, out.buf.length * 2)));
  out.buf.copy(next, 0, 0, out.pos);
  out.buf = next;
}

/**
 * Decompresses every LZ4 frame in `src` (normally one; concatenated and skippable frames are valid
 * too) into a new buffer of at most `maxBytes`. Throws CORRUPT_MESSAGE for a malformed frame or a
 * failed checksum, MESSAGE_TOO_LARGE when the content exceeds `maxBytes`.
 */
export function lz4DecompressFrame(src: Uint8Array, maxBytes: number): Buffer {
  const scratch = { buf: Buffer.allocUnsafe(Math.min(maxBytes, Math.max(1024, src.length * 4))) };
  const length = lz4DecompressFrameInto(src, maxBytes, scratch);
  return scratch.buf.subarray(0, length);
}

/**
 * `lz4DecompressFrame` into a caller's reusable buffer: decompresses `src` into `scratch.buf` from
 * its start and returns the decompressed length. When the content does not fit, `scratch.buf` is
 * replaced by a larger buffer (never past `maxBytes`), which the caller may keep for next time.
 */
export function lz4DecompressFrameInto(src: Uint8Array, maxBytes: number, scratch: { buf: Buffer }): number {
  if (src.length < FRAME_OVERHEAD_BYTES) throw corrupt(`${src.length} bytes cannot hold a frame`);
  const out: Output = { buf: scratch.buf, pos: 0, maxBytes };
  try {
    decodeFrames(src, out);
  } finally {
    scratch.buf = out.buf;
  }
  return out.pos;
}

function decodeFrames(src: Uint8Array, out: Output): void {
  let pos = 0;
  while (pos < src.length) {
    if (src.length - pos < 4) throw corrupt(`${src.length - pos} stray bytes at ${pos}`);
    const magic = readU32LE(src, pos);
    if (((magic & LZ4_SKIPPABLE_MASK) >>> 0) === LZ4_SKIPPABLE_MAGIC) {
      if (src.length - pos < 8) throw corrupt(`skippable frame at ${pos} is truncated`);
      const skip = readU32LE(src, pos + 4);
      if (skip > src.length - pos - 8) throw corrupt(`skippable frame at ${pos} runs past the end`);
      pos += 8 + skip;
      continue;
    }
    if (magic !== LZ4_FRAME_MAGIC) throw corrupt(`bad magic 0x${magic.toString(16)} at ${pos}`);
    pos = readFrame(src, pos, out);
  }
}

/** Decodes the frame whose magic is at `start` into `out`; returns the position after it. */
function readFrame(src: Uint8Array, start: number, out: Output): number {
  const end = src.length;
  let pos = start + 4;
  if (end - pos < 3) throw corrupt(`frame descriptor at ${pos} is truncated`);
  const flg = src[pos]!;
  const bd = src[pos + 1]!;
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_01) throw corrupt(`unknown frame version in FLG 0x${flg.toString(16)}`);
  if ((flg & FLG_RESERVED) !== 0 || (bd & BD_RESERVED) !== 0) throw corrupt(`reserved descriptor bits set (FLG 0x${flg.toString(16)}, BD 0x${bd.toString(16)})`);
  const blockCode = (bd >>> 4) & 0x07;
  if (blockCode < 4) throw corrupt(`block max size code ${blockCode} is undefined`);
  const blockMaxBytes = 1 << (2 * blockCode + 8);
  const descriptorStart = pos;
  pos += 2;
  let contentSize = -1;
  if ((flg & FLG_CONTENT_SIZE) !== 0) {
    if (end - pos < 9) throw corrupt('content size field is truncated');
    const lo = readU32LE(src, pos);
    const hi = readU32LE(src, pos + 4);
    if (hi > 0 || lo > out.maxBytes - out.pos) {
      throw new LogError('MESSAGE_TOO_LARGE', `lz4 frame declares ${hi * 2 ** 32 + lo} bytes, limit ${out.maxBytes - out.pos}`);
    }
    contentSize = lo;
    pos += 8;
  }
  if ((flg & FLG_DICT_ID) !== 0) throw corrupt('frame needs a preset dictionary, which a record batch cannot carry');
  if (end - pos < 1) throw corrupt('header checksum is missing');
  const hc = src[pos]!;
  if (hc !== headerChecksum(src.subarray(descriptorStart, pos)) && hc !== headerChecksum(src.subarray(start, pos))) {
    throw corrupt(`header checksum 0x${hc.toString(16)} does not match the descriptor at ${descriptorStart}`);
  }
  pos += 1;

  const independent = (flg & FLG_BLOCK_INDEPENDENCE) !== 0;
  const blockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0;
  const contentStart = out.pos;
  for (;;) {
    if (end - pos < 4) throw corrupt(`block size at ${pos} is truncated`);
    const word = readU32LE(src, pos);
    pos += 4;
    if (word === 0) break;
    const raw = (word & LZ4_BLOCK_RAW) !== 0;
    const len = word & 0x7fffffff;
    if (len > blockMaxBytes) throw corrupt(`block of ${len} bytes at ${pos} exceeds the frame's ${blockMaxBytes}`);
    if (end - pos < len + (blockChecksum ? 4 : 0)) throw corrupt(`block of ${len} bytes at ${pos} runs past the end`);
    const data = src.subarray(pos, pos + len);
    if (blockChecksum && xxh32(data) !== readU32LE(src, pos + len)) throw corrupt(`block checksum mismatch at ${pos}`);
    const room = out.maxBytes - out.pos;
    if (raw) {
      if (len > room) throw new LogError('MESSAGE_TOO_LARGE', `lz4 content exceeds the limit of ${out.maxBytes} bytes`);
      ensureRoom(out, len);
      out.buf.set(data, out.pos);
      out.pos += len;
    } else {
      const natural = Math.min(blockMaxBytes, LZ4_MAX_EXPANSION * len);
      const cap = Math.min(natural, room);
      const decodeWithRoom = (bytes: number): number => {
        ensureRoom(out, bytes);
        return independent
          ? lz4.decodeBlock(data, out.buf.subarray(out.pos, out.pos + bytes))
          : decodeLinkedBlock(data, out.buf, out.pos, out.pos + bytes, contentStart);
      };
      // First with room for 4:1 (at least 64 KiB, all a Kafka frame's block needs): a 4 MiB-block
      // frame holding a 20 KiB batch must not cost a megabyte of buffer. A block that expands
      // further pays a second pass, wasted work bounded by the first try's room.
      const first = Math.min(cap, Math.max(LZ4_KAFKA_BLOCK_BYTES, 4 * len));
      let n = decodeWithRoom(first);
      if (n < 0 && first < cap && (independent || n === LINKED_NO_ROOM)) n = decodeWithRoom(cap);
      if (n < 0) {
        // LZ4 says "malformed" both for bad input and for too little room. Where the limit cut the
        // room, decode again into a scratch of the block's natural room (at most 4 MiB, and only
        // on this failure path) to tell a batch over the limit from a corrupt one.
        const overLimit =
          cap < natural && (independent ? lz4.decodeBlock(data, Buffer.allocUnsafe(natural)) >= 0 : n === LINKED_NO_ROOM);
        if (overLimit) throw new LogError('MESSAGE_TOO_LARGE', `lz4 content exceeds the limit of ${out.maxBytes} bytes`);
        throw corrupt(`block at ${pos} is malformed`);
      }
      out.pos += n;
    }
    pos += len + (blockChecksum ? 4 : 0);
  }
  if ((flg & FLG_CONTENT_CHECKSUM) !== 0) {
    if (end - pos < 4) throw corrupt('content checksum is truncated');
    if (xxh32(out.buf.subarray(contentStart, out.pos)) !== readU32LE(src, pos)) throw corrupt('content checksum mismatch');
    pos += 4;
  }
  if (contentSize >= 0 && contentSize !== out.pos - contentStart) {
    throw corrupt(`frame declares ${contentSize} content bytes, holds ${out.pos - contentStart}`);
  }
  return pos;
}

const LINKED_MALFORMED = -1;
const LINKED_NO_ROOM = -2;

/**
 * Decodes one LZ4 block of a linked-block frame into `dst[dPos..dEnd)`, where a match may reach back
 * to `windowStart` (the frame's first decompressed byte). Returns the number of bytes written,
 * LINKED_MALFORMED, or LINKED_NO_ROOM when the output would pass `dEnd`.
 */
function decodeLinkedBlock(src: Uint8Array, dst: Uint8Array, dPos: number, dEnd: number, windowStart: number): number {
  const start = dPos;
  const sEnd = src.length;
  let sPos = 0;
  for (;;) {
    if (sPos >= sEnd) return LINKED_MALFORMED;
    const token = src[sPos++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (sPos >= sEnd) return LINKED_MALFORMED;
        b = src[sPos++]!;
        literals += b;
      } while (b === 255);
    }
    if (literals > sEnd - sPos) return LINKED_MALFORMED;
    if (literals > dEnd - dPos) return LINKED_NO_ROOM;
    dst.set(src.subarray(sPos, sPos + literals), dPos);
    sPos += literals;
    dPos += literals;
    // The last sequence of a block is literals only.
    if (sPos === sEnd) return dPos - start;
    if (sEnd - sPos < 2) return LINKED_MALFORMED;
    const offset = src[sPos]! | (src[sPos + 1]! << 8);
    sPos += 2;
    if (offset === 0 || offset > dPos - windowStart) return LINKED_MALFORMED;
    let matchBytes = token & 0x0f;
    if (matchBytes === 15) {
      let b: number;
      do {
        if (sPos >= sEnd) return LINKED_MALFORMED;
        b = src[sPos++]!;
        matchBytes += b;
      } while (b === 255);
    }
    matchBytes += 4;
    if (matchBytes > dEnd - dPos) return LINKED_NO_ROOM;
    // Byte by byte: a match may overlap the bytes it is producing (offset < length repeats them).
    for (let from = dPos - offset, stop = dPos + matchBytes; dPos < stop; ) dst[dPos++] = dst[from++]!;
  }
}

/** Bytes `compressInto` may write for `srcBytes` bytes of input. */
export function compressedBound(codec: number, srcBytes: number): number {
  switch (codec) {
    case CompressionCodec.none:
      return srcBytes;
    case CompressionCodec.lz4:
      return lz4FrameBound(srcBytes);
    default:
      throw new LogError('UNSUPPORTED_COMPRESSION_TYPE', `codec ${codec}`);
  }
}

/** Compresses `src` with `codec` into `dst` at `pos`; returns the position after the output. */
export function compressInto(codec: number, src: Uint8Array, dst: Uint8Array, pos: number): number {
  switch (codec) {
    case CompressionCodec.none:
      dst.set(src, pos);
      return pos + src.length;
    case CompressionCodec.lz4:
      return writeLz4Frame(src, dst, pos);
    default:
      throw new LogError('UNSUPPORTED_COMPRESSION_TYPE', `codec ${codec}`);
  }
}

/**
 * Decompresses `src` written with `codec`, producing at most `maxBytes`. For codec none the result
 * is `src` itself (no copy).
 */
export function decompress(codec: number, src: Buffer, maxBytes: number): Buffer {
  switch (codec) {
    case CompressionCodec.none:
      if (src.length > maxBytes) throw new LogError('MESSAGE_TOO_LARGE', `${src.length} bytes, limit ${maxBytes}`);
      return src;
    case CompressionCodec.lz4:
      return lz4DecompressFrame(src, maxBytes);
    default:
      throw new LogError('UNSUPPORTED_COMPRESSION_TYPE', `codec ${codec}`);
  }
}
