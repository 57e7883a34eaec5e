/**
 * Request and response frames: the bytes of one message on the wire.
 *
 * ```
 *  0        4                 4+h              frame end
 *  +--------+-----------------+----------------+
 *  | length | header (varint- | body           |   length: uint32 BE, counts every byte after itself
 *  | uint32 | delimited)      | (API message)  |   header: RequestHeader or ResponseHeader
 *  +--------+-----------------+----------------+   body:   the API's request/response, to the end
 * ```
 *
 * A frame is encoded with one protobufjs writer, length placeholder included. Senders use the chunked
 * form (`encodeRequestFrameChunks`, `encodeResponseFrameChunks`): the same bytes as a list of Buffers
 * in which every large `bytes` field (a produce request's or a fetch response's record batches) is
 * the caller's Buffer itself, not a copy (`ChunkedWriter`), written to the socket with one writev.
 * `encodeRequestFrame` / `encodeResponseFrame` give the frame as one Buffer. Decoding reads header
 * and body from the payload in place: `bytes` fields are views of it.
 *
 * Encoding refuses (`FrameTooLargeError`, FRAME_TOO_LARGE) a frame longer than
 * `MAX_FRAME_BYTES_CEILING` (2^31 - 1 bytes), so a length prefix never wraps: whatever the body, the
 * frame that goes out is one every receiver can cut at the right place or refuse by its length.
 *
 * A response whose header carries a non-zero `errorCode` has an empty body (the request as a whole
 * failed: unknown api, unsupported version, malformed body); its decoded body is `undefined`.
 *
 * Decoding never throws anything but `ProtocolError`: UNSUPPORTED_VERSION for an api key or version
 * this build does not serve, INVALID_REQUEST for a request whose header or body cannot be read,
 * INVALID_RESPONSE for such a response. When a request's header could be read, the error carries it
 * (`error.header`), so the broker can answer that correlation id with the error code.
 */
import { API_REGISTRY, isApiKey, isSupportedVersion, type RequestOf, type ResponseOf } from './api-registry.js';
import type { ApiKey } from './api-keys.js';
import { FrameTooLargeError, ProtocolError, type ErrorName } from './errors.js';
import { FRAME_LENGTH_BYTES, MAX_FRAME_BYTES_CEILING } from './limits.js';
import { ChunkedWriter, compileSchema, messageCodec, Reader, Writer } from './message-codec.js';

export const HEADER_SCHEMA = `
syntax = "proto3";
package strata;

message RequestHeader  { uint32 api_key = 1; uint32 api_version = 2; int32 correlation_id = 3; string client_id = 4; }
message ResponseHeader { int32 correlation_id = 1; int32 error_code = 2; }
`;

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string;
}

export interface ResponseHeader {
  correlationId: number;
  errorCode: number;
}

const headerRoot = compileSchema(HEADER_SCHEMA);
const requestHeaderCodec = messageCodec<RequestHeader>(headerRoot, 'strata.RequestHeader');
const responseHeaderCodec = messageCodec<ResponseHeader>(headerRoot, 'strata.ResponseHeader');

/**
 * A decoded request. `apiKey` repeats `header.apiKey` at the top level so that narrowing on it
 * narrows `body` (TypeScript does not narrow a union through a nested property).
 */
export type DecodedRequest = {
  [K in ApiKey]: { apiKey: K; header: RequestHeader & { apiKey: K }; body: RequestOf<K> };
}[ApiKey];

export interface DecodedResponse<K extends ApiKey> {
  header: ResponseHeader;
  /** `undefined` when `header.errorCode` is not 0. */
  body: ResponseOf<K> | undefined;
}

/** A request decode failure; `header` is set when the header itself was readable. */
export class RequestDecodeError extends ProtocolError {
  readonly header: RequestHeader | undefined;

  constructor(name: ErrorName, detail: string, header: RequestHeader | undefined, cause?: unknown) {
    super(name, detail, cause === undefined ? undefined : { cause });
    this.name = 'RequestDecodeError';
    this.header = header;
  }
}

/**
 * A frame's length must fit its length field, and no receiver accepts more than
 * `MAX_FRAME_BYTES_CEILING`: a longer frame is refused here, before it is sent, rather than written
 * with a length that wraps (which would desynchronise the stream). The sender gets a
 * `FrameTooLargeError`; a broker handler's caller answers its code in the response header.
 */
function checkFrameLength(length: number): number {
  if (length > MAX_FRAME_BYTES_CEILING) throw new FrameTooLargeError(length, MAX_FRAME_BYTES_CEILING);
  return length;
}

function finishFrame(writer: Writer): Buffer {
  checkFrameLength(writer.len - FRAME_LENGTH_BYTES);
  const frame = writer.finish() as Buffer;
  frame.writeUInt32BE(frame.length - FRAME_LENGTH_BYTES, 0);
  return frame;
}

function startFrame(): Writer {
  // A 4-byte placeholder for the length, overwritten big-endian once the frame's size is known.
  return Writer.create().fixed32(0);
}

function startChunkedFrame(): ChunkedWriter {
  const writer = new ChunkedWriter();
  writer.fixed32(0);
  return writer;
}

function finishFrameChunks(writer: ChunkedWriter): Buffer[] {
  const chunks = writer.finishChunks();
  const length = checkFrameLength(writer.totalBytes - FRAME_LENGTH_BYTES);
  // The first chunk holds at least the length placeholder and the header's length varint.
  (chunks[0] as Buffer).writeUInt32BE(length, 0);
  return chunks;
}

/** The whole frame, length prefix included. `header.apiKey`, if given, must equal `apiKey`. */
export function encodeRequestFrame<K extends ApiKey>(
  header: Omit<RequestHeader, 'apiKey'> & { apiKey?: number },
  apiKey: K,
  body: RequestOf<K>,
): Buffer {
  return finishFrame(writeRequest(startFrame(), header, apiKey, body));
}

/**
 * The same bytes as `encodeRequestFrame`, as chunks to write in order; large `bytes` fields are the
 * body's own Buffers (see `ChunkedWriter`), so they must not change until the chunks are written.
 */
export function encodeRequestFrameChunks<K extends ApiKey>(
  header: Omit<RequestHeader, 'apiKey'> & { apiKey?: number },
  apiKey: K,
  body: RequestOf<K>,
): Buffer[] {
  return finishFrameChunks(writeRequest(startChunkedFrame(), header, apiKey, body));
}

function writeRequest<W extends Writer, K extends ApiKey>(
  writer: W,
  header: Omit<RequestHeader, 'apiKey'> & { apiKey?: number },
  apiKey: K,
  body: RequestOf<K>,
): W {
  if (!isApiKey(apiKey)) throw new TypeError(`encodeRequestFrame: unknown api key ${String(apiKey)}`);
  if (header.apiKey !== undefined && header.apiKey !== apiKey) {
    throw new TypeError(`encodeRequestFrame: header.apiKey ${header.apiKey} differs from apiKey ${apiKey}`);
  }
  requestHeaderCodec.encodeDelimited({ ...header, apiKey }, writer);
  API_REGISTRY[apiKey].request.encode(body as never, writer);
  return writer;
}

/** Decodes a request frame's payload (the frame without its 4-byte length). */
export function decodeRequestFrame(payload: Buffer): DecodedRequest {
  const reader = Reader.create(payload);
  let header: RequestHeader;
  try {
    header = requestHeaderCodec.decodeDelimited(reader);
  } catch (error) {
    throw new RequestDecodeError('INVALID_REQUEST', `Unreadable request header: ${describe(error)}`, undefined, error);
  }
  if (!isApiKey(header.apiKey) || !isSupportedVersion(header.apiKey, header.apiVersion)) {
    throw new RequestDecodeError(
      'UNSUPPORTED_VERSION', `api key ${header.apiKey} version ${header.apiVersion}.`, header);
  }
  try {
    const body = API_REGISTRY[header.apiKey].request.decode(reader);
    return { apiKey: header.apiKey, header, body } as DecodedRequest;
  } catch (error) {
    throw new RequestDecodeError(
      'INVALID_REQUEST', `Unreadable ${API_REGISTRY[header.apiKey].name} request body: ${describe(error)}`,
      header, error);
  }
}

/**
 * The whole frame, length prefix included. With a non-zero `header.errorCode` the body is left empty
 * (whatever is passed); with errorCode 0 an undefined body encodes as the empty message.
 */
export function encodeResponseFrame<K extends ApiKey>(
  header: ResponseHeader,
  apiKey: K,
  body: ResponseOf<K> | undefined,
): Buffer {
  return finishFrame(writeResponse(startFrame(), header, apiKey, body));
}

/**
 * The same bytes as `encodeResponseFrame`, as chunks to write in order; large `bytes` fields are the
 * body's own Buffers (see `ChunkedWriter`), so they must not change until the chunks are written.
 */
export function encodeResponseFrameChunks<K extends ApiKey>(
  header: ResponseHeader,
  apiKey: K,
  body: ResponseOf<K> | undefined,
): Buffer[] {
  return finishFrameChunks(writeResponse(startChunkedFrame(), header, apiKey, body));
}

function writeResponse<W extends Writer, K extends ApiKey>(
  writer: W,
  header: ResponseHeader,
  apiKey: K,
  body: ResponseOf<K> | undefined,
): W {
  if (!isApiKey(apiKey)) throw new TypeError(`encodeResponseFrame: unknown api key ${String(apiKey)}`);
  responseHeaderCodec.encodeDelimited(header, writer);
  if (header.errorCode === 0 && body !== undefined) API_REGISTRY[apiKey].response.encode(body as never, writer);
  return writer;
}

/** Decodes a response frame's payload (the frame without its 4-byte length) for a request of `apiKey`. */
export function decodeResponseFrame<K extends ApiKey>(apiKey: K, payload: Buffer): DecodedResponse<K> {
  const reader = Reader.create(payload);
  let header: ResponseHeader;
  try {
    header = responseHeaderCodec.decodeDelimited(reader);
  } catch (error) {
    throw new ProtocolError('INVALID_RESPONSE', `Unreadable response header: ${describe(error)}`, { cause: error });
  }
  if (header.errorCode !== 0) return { header, body: undefined };
  if (!isApiKey(apiKey)) throw new ProtocolError('UNSUPPORTED_VERSION', `api key ${String(apiKey)}.`);
  try {
    return { header, body: API_REGISTRY[apiKey].response.decode(reader) as ResponseOf<K> };
  } catch (error) {
    throw new ProtocolError(
      'INVALID_RESPONSE', `Unreadable ${API_REGISTRY[apiKey].name} response body: ${describe(error)}`,
      { cause: error });
  }
}

/**
 * Reads only the correlation id of a response payload, so a connection can find the pending request
 * (and its api key) before decoding the body. Throws ProtocolError INVALID_RESPONSE.
 */
export function peekResponseCorrelationId(payload: Buffer): number {
  try {
    return responseHeaderCodec.decodeDelimited(Reader.create(payload)).correlationId;
  } catch (error) {
    throw new ProtocolError('INVALID_RESPONSE', `Unreadable response header: ${describe(error)}`, { cause: error });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
