/**
 * The one place Strata touches protobufjs: runtime configuration and a compiler that turns an API's
 * schema text into typed encode/decode functions for its request and response messages.
 *
 * Two protobufjs behaviours are pinned here, because the rest of the protocol relies on them:
 *
 * - `int64` decodes to a JavaScript number, never a `Long` object. protobufjs picks `Long` whenever
 *   the `long` package is loadable, and it decides per field when a schema is parsed, so this module
 *   clears `util.Long` and reconfigures the library before any schema in this folder is parsed (every
 *   `apis/*.ts` imports this module first). Offsets are exact below 2^53, which is 285 years of a
 *   million records a second. The setting is process-wide; nothing else in Strata uses protobufjs.
 * - `bytes` decodes to a `Buffer` that is a view of the frame (protobufjs's BufferReader slices), so
 *   a produce request's or fetch response's record batches are never copied on decode.
 *
 * - `bytes` of at least `BYTES_BY_REFERENCE_MIN` encode by reference with a `ChunkedWriter`: the frame
 *   becomes a list of chunks (the protobuf bytes up to and including the field's length prefix, the
 *   caller's Buffer itself, the rest), which the socket writes with one writev. A 1 MiB batch was
 *   otherwise copied three or four times per frame by protobufjs (into the writer, shifted by each
 *   enclosing `ldelim` whose length varint is longer than its one reserved byte, then by `finish`).
 *
 * Decoded messages are turned into plain objects with every field present (defaults filled in: 0, '',
 * an empty Buffer, [], {}), so handlers never see protobufjs's prototype defaults or a `[]` standing in
 * for empty bytes. That pass copies the message tree but not the bytes inside it.
 */
import protobuf from 'protobufjs';

protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

export const Reader = protobuf.Reader;
export const Writer = protobuf.Writer;
export type Reader = protobuf.Reader;
export type Writer = protobuf.Writer;

/**
 * A `bytes` value this long or longer is referenced by a `ChunkedWriter`, not copied. Below it, one
 * more iovec (and one more chunk to keep alive) costs more than copying the bytes: a 4 KiB memcpy is
 * about 100 ns, a chunk about as much in Node's writev bookkeeping.
 */
export const BYTES_BY_REFERENCE_MIN = 4096;

/**
 * A protobufjs BufferWriter that leaves large `bytes` values out of its buffer and encodes the same
 * bytes as protobufjs would, as chunks:
 *
 * ```
 *  buf:     | ...tag, len(records) | ...tag, len(records) | ...rest |
 *                                 ^ hole 0               ^ hole 1
 *  chunks:  buf[0, h0] , records0 , buf[h0, h1] , records1 , buf[h1, pos]
 * ```
 *
 * A hole is a position in `buf` where a referenced Buffer goes. Every length that protobufjs computes
 * from positions in `buf` is corrected by the bytes of the holes inside it: `ldelim` adds the holes
 * opened since its `fork`, and when the length varint outgrows the byte `fork` reserved, the holes
 * after it move with the bytes it shifts. The writer relies on protobufjs's public `Writer` fields
 * (`buf`, `pos`, `states`, `view`) and on generated encoders calling `bytes`, `fork` and `ldelim`;
 * the frame tests check, for every API, that the chunks concatenated equal protobufjs's own encoding.
 *
 * The referenced Buffers must not change until the chunks are written (Strata's batches never do:
 * the producer encodes each into a fresh Buffer, and the log reads each fetch into a fresh Buffer).
 */
export class ChunkedWriter extends protobuf.BufferWriter {
  private readonly holePositions: number[] = [];
  private readonly holeBuffers: Buffer[] = [];
  /** For each open fork, how many holes there were when it was opened. */
  private readonly forkHoles: number[] = [];
  private holeBytes = 0;

  /** Bytes the finished chunks hold: those in `buf` and those referenced. */
  get totalBytes(): number {
    return this.pos + this.holeBytes;
  }

  override bytes(value: Uint8Array | string): this {
    if (typeof value === 'string' || value.length < BYTES_BY_REFERENCE_MIN) {
      super.bytes(value);
      return this;
    }
    this.uint32(value.length);
    this.holePositions.push(this.pos);
    this.holeBuffers.push(Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length));
    this.holeBytes += value.length;
    return this;
  }

  override fork(): this {
    super.fork();
    this.forkHoles.push(this.holePositions.length);
    return this;
  }

  override ldelim(): this {
    const first = this.forkHoles.pop();
    if (first === undefined) {
      // protobufjs's unforked ldelim prefixes the whole buffer; with holes it would miscount them.
      if (this.holePositions.length > 0) throw new Error('ChunkedWriter: ldelim without fork after a referenced bytes value');
      super.ldelim();
      return this;
    }
    const holes = this.holePositions.length;
    if (first === holes) {
      super.ldelim();
      return this;
    }
    let inner = 0;
    for (let i = first; i < holes; i++) inner += (this.holeBuffers[i] as Buffer).length;
    const lenPos = (this.states as number[]).pop() as number;
    const realLength = this.pos - lenPos - 1;
    const length = realLength + inner;
    const varintBytes = sizeVarint32(length);
    if (varintBytes > 1) {
      const grow = varintBytes - 1;
      if (this.pos + grow > this.buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + grow));
        grown.set(this.buf.subarray(0, this.pos), 0);
        this.buf = grown;
        this.view = null;
      }
      this.buf.copyWithin(lenPos + varintBytes, lenPos + 1, lenPos + 1 + realLength);
      this.pos += grow;
      for (let i = first; i < holes; i++) this.holePositions[i] = (this.holePositions[i] as number) + grow;
    }
    let at = lenPos;
    let rest = length;
    while (rest > 127) {
      this.buf[at++] = (rest & 127) | 128;
      rest >>>= 7;
    }
    this.buf[at] = rest;
    return this;
  }

  /**
   * The encoding as chunks, views of this writer's buffer and the referenced Buffers, in order; no
   * chunk is empty. The writer must not be used afterwards.
   */
  finishChunks(): Buffer[] {
    if (this.forkHoles.length > 0) throw new Error('ChunkedWriter: finished with an open fork');
    const buf = this.buf as Buffer;
    const chunks: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < this.holePositions.length; i++) {
      const at = this.holePositions[i] as number;
      if (at > from) chunks.push(buf.subarray(from, at));
      chunks.push(this.holeBuffers[i] as Buffer);
      from = at;
    }
    if (this.pos > from || chunks.length === 0) chunks.push(buf.subarray(from, this.pos));
    return chunks;
  }
}

function sizeVarint32(value: number): number {
  return value < 128 ? 1 : value < 16384 ? 2 : value < 2097152 ? 3 : value < 268435456 ? 4 : 5;
}

/** Encode/decode of one message type, typed as the TypeScript interface of that message. */
export interface MessageCodec<T> {
  readonly typeName: string;
  /** Appends the message to `writer` (no length prefix). */
  encode(value: T, writer: Writer): void;
  /** Appends the message prefixed by its length as a varint. */
  encodeDelimited(value: T, writer: Writer): void;
  /** Reads the message from the reader's position to its end. */
  decode(reader: Reader): T;
  /** Reads a varint length, then that many bytes of message. */
  decodeDelimited(reader: Reader): T;
}

const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = {
  longs: Number,
  defaults: true,
  arrays: true,
  objects: true,
};

/** Parses proto3 schema text (snake_case fields become camelCase) into a root of message types. */
export function compileSchema(schema: string): protobuf.Root {
  const root = protobuf.parse(schema, { keepCase: false }).root;
  root.resolveAll();
  return root;
}

export function messageCodec<T>(root: protobuf.Root, typeName: string): MessageCodec<T> {
  const type = root.lookupType(typeName);
  return {
    typeName,
    encode(value, writer) {
      type.encode(value as protobuf.Message, writer);
    },
    encodeDelimited(value, writer) {
      type.encodeDelimited(value as protobuf.Message, writer);
    },
    decode(reader) {
      return type.toObject(type.decode(reader), TO_OBJECT_OPTIONS) as T;
    },
    decodeDelimited(reader) {
      return type.toObject(type.decodeDelimited(reader), TO_OBJECT_OPTIONS) as T;
    },
  };
}
