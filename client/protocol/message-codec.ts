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
