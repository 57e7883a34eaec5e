/**
 * The client side of one TCP connection to a broker.
 *
 * Requests are pipelined: `request()` writes the frame at once and returns a promise; any number may
 * be in flight. Each gets the next correlation id (int32, wrapping), and a response is matched to its
 * request by that id, so the connection does not depend on the broker answering in order (though it
 * does). Every request is sent at the registry's `maxVersion` of its API.
 *
 * How a request ends, exactly once:
 * - its response arrives: resolve with the body, or reject with `StrataError` for a non-zero
 *   response-header error code (per-partition error codes inside a body are the caller's to read);
 * - its timeout passes: reject with REQUEST_TIMED_OUT; the connection stays open and a response
 *   arriving later for that id is dropped;
 * - the connection closes (peer, network, `close()`, or a protocol violation by the broker such as an
 *   oversized or undecodable frame, which also closes it): reject with NETWORK_EXCEPTION.
 *
 * Writes are not throttled here: a caller that pipelines without bound buffers in the socket; the
 * client library above bounds its own in-flight requests (the broker stops reading at its bound).
 *
 * Lifecycle: `connect()` -> open -> closed (terminal). `onClose` listeners run once, after every
 * in-flight request was rejected, with the error that closed it (undefined after `close()`).
 */
import net from 'node:net';
import { API_REGISTRY, type RequestOf, type ResponseOf } from './api-registry.js';
import type { ApiKey } from './api-keys.js';
import { ProtocolError, StrataError } from './errors.js';
import { decodeResponseFrame, encodeRequestFrameChunks, peekResponseCorrelationId } from './frame.js';
import { FrameReader } from './frame-reader.js';
import {
  CLIENT_ID_MAX_CHARS,
  CONNECT_TIMEOUT_MS_DEFAULT,
  MAX_FRAME_BYTES_DEFAULT,
  REQUEST_TIMEOUT_MS_DEFAULT,
} from './limits.js';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  /** Default for `request()`; default 30 s. */
  requestTimeoutMs?: number;
  /** Largest response frame accepted; default 100 MiB. */
  maxFrameBytes?: number;
  /** Default 10 s. */
  connectTimeoutMs?: number;
}

export interface RequestOptions {
  timeoutMs?: number;
}

export type CloseListener = (error: Error | undefined) => void;

interface PendingRequest {
  readonly apiKey: ApiKey;
  readonly resolve: (body: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const CORRELATION_ID_MAX = 2 ** 31 - 1;

export class Connection {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  readonly requestTimeoutMs: number;
  private readonly socket: net.Socket;
  private readonly reader: FrameReader;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly closeListeners = new Set<CloseListener>();
  private nextCorrelationId = 0;
  private isClosed = false;
  private closeError: Error | undefined;
  private readonly socketClosed: Promise<void>;

  /** Opens a TCP connection (no-delay) and resolves once it is established. */
  static connect(options: ConnectionOptions): Promise<Connection> {
    const connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT;
    return new Promise((resolve, reject) => {
      checkOptions(options);
      const reader = new FrameReader(options.maxFrameBytes ?? MAX_FRAME_BYTES_DEFAULT);
      const socket = net.connect({ host: options.host, port: options.port });
      const where = `${options.host}:${options.port}`;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new StrataError('NETWORK_EXCEPTION', `Connecting to ${where} timed out after ${connectTimeoutMs} ms.`));
      }, connectTimeoutMs);
      const onError = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new StrataError('NETWORK_EXCEPTION', `Cannot connect to ${where}: ${error.message}`, { cause: error }));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new Connection(socket, reader, options));
      });
    });
  }

  private constructor(socket: net.Socket, reader: FrameReader, options: ConnectionOptions) {
    this.host = options.host;
    this.port = options.port;
    this.clientId = options.clientId;
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
    this.reader = reader;
    this.socket = socket;
    socket.setNoDelay(true);
    this.socketClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => {
      this.fail(new StrataError('NETWORK_EXCEPTION', `Connection to ${this.address} failed: ${error.message}`, { cause: error }));
    });
    socket.on('close', () => {
      this.fail(new StrataError('NETWORK_EXCEPTION', `Connection to ${this.address} closed.`));
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes written and not yet handed to the kernel: a sender that must not grow without bound checks it. */
  get unsentBytes(): number {
    return this.socket.writableLength;
  }

  /** Requests sent and not yet answered, timed out or failed. */
  get inFlightRequests(): number {
    return this.pending.size;
  }

  /** Sends a request and resolves with its response body. */
  request<K extends ApiKey>(apiKey: K, body: RequestOf<K>, options?: RequestOptions): Promise<ResponseOf<K>> {
    if (this.isClosed) return Promise.reject(this.closedError());
    const timeoutMs = options?.timeoutMs ?? this.requestTimeoutMs;
    let frame: Buffer[];
    const correlationId = this.takeCorrelationId();
    try {
      frame = this.frame(apiKey, correlationId, body);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<ResponseOf<K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(correlationId)) {
          reject(new StrataError('REQUEST_TIMED_OUT',
            `${API_REGISTRY[apiKey].name} request ${correlationId} to ${this.address} got no response in ${timeoutMs} ms.`));
        }
      }, timeoutMs);
      this.pending.set(correlationId, {
        apiKey,
        resolve: resolve as (body: unknown) => void,
        reject,
        timer,
      });
      this.write(frame);
    });
  }

  /**
   * Sends a request that gets no response (a produce with acks 0). Throws NETWORK_EXCEPTION when the
   * connection is closed; a later loss of the connection goes unnoticed by the caller.
   */
  send<K extends ApiKey>(apiKey: K, body: RequestOf<K>): void {
    if (this.isClosed) throw this.closedError();
    this.write(this.frame(apiKey, this.takeCorrelationId(), body));
  }

  /** Rejects in-flight requests, flushes what was written, and resolves once the socket is closed. */
  async close(): Promise<void> {
    if (!this.isClosed) {
      this.finish(undefined, new StrataError('NETWORK_EXCEPTION', `Connection to ${this.address} was closed by the client.`));
      this.socket.end(() => this.socket.destroy());
    }
    await this.socketClosed;
  }

  /**
   * Closes at once, dropping whatever was not written yet: for a sender whose data may be lost (Raft's
   * peer links), which must not wait on a peer that stopped reading. In-flight requests are rejected.
   */
  destroy(): void {
    if (!this.isClosed) this.finish(undefined, new StrataError('NETWORK_EXCEPTION', `Connection to ${this.address} was destroyed by the client.`));
    this.socket.destroy();
  }

  /** Runs `listener` once when the connection closes; returns a function that removes it. */
  onClose(listener: CloseListener): () => void {
    if (this.isClosed) {
      queueMicrotask(() => listener(this.closeError));
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  private get address(): string {
    return `${this.host}:${this.port}`;
  }

  private frame<K extends ApiKey>(apiKey: K, correlationId: number, body: RequestOf<K>): Buffer[] {
    const apiVersion = API_REGISTRY[apiKey].maxVersion;
    return encodeRequestFrameChunks({ apiVersion, correlationId, clientId: this.clientId }, apiKey, body);
  }

  /**
   * Writes a frame's chunks; several are corked so that they leave in one writev (the record batches
   * of a produce request are chunks of their own, never copied into the frame).
   */
  private write(chunks: Buffer[]): void {
    if (chunks.length === 1) {
      this.socket.write(chunks[0] as Buffer);
      return;
    }
    this.socket.cork();
    for (const chunk of chunks) this.socket.write(chunk);
    this.socket.uncork();
  }

  private takeCorrelationId(): number {
    const id = this.nextCorrelationId;
    this.nextCorrelationId = id === CORRELATION_ID_MAX ? 0 : id + 1;
    return id;
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    try {
      for (const payload of this.reader.push(chunk)) {
        const pending = this.pending.get(peekResponseCorrelationId(payload));
        if (pending === undefined) continue; // timed out earlier: drop the late answer
        const { header, body } = decodeResponseFrame(pending.apiKey, payload);
        this.pending.delete(header.correlationId);
        clearTimeout(pending.timer);
        if (header.errorCode === 0) pending.resolve(body);
        else pending.reject(StrataError.fromCode(header.errorCode, `(${API_REGISTRY[pending.apiKey].name} request ${header.correlationId})`));
      }
    } catch (error) {
      // The broker broke the protocol; nothing further on this stream can be trusted.
      const cause = error instanceof ProtocolError ? error : new ProtocolError('INVALID_RESPONSE', String(error), { cause: error });
      this.fail(new StrataError('NETWORK_EXCEPTION',
        `Closing connection to ${this.address}: ${cause.message}`, { cause }));
      this.socket.destroy();
    }
  }

  private fail(error: StrataError): void {
    if (this.isClosed) return;
    this.finish(error, error);
    this.socket.destroy();
  }

  /** Marks the connection closed, rejects every in-flight request, and tells the listeners. */
  private finish(closeError: Error | undefined, rejectWith: StrataError): void {
    this.isClosed = true;
    this.closeError = closeError;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const request of pending) {
      clearTimeout(request.timer);
      request.reject(rejectWith);
    }
    for (const listener of this.closeListeners) listener(closeError);
    this.closeListeners.clear();
  }

  private closedError(): StrataError {
    return new StrataError('NETWORK_EXCEPTION', `Connection to ${this.address} is closed.`,
      this.closeError === undefined ? undefined : { cause: this.closeError });
  }
}

function checkOptions(options: ConnectionOptions): void {
  if (options.clientId.length > CLIENT_ID_MAX_CHARS) {
    throw new RangeError(`clientId is longer than ${CLIENT_ID_MAX_CHARS} characters`);
  }
  for (const [name, value] of [
    ['requestTimeoutMs', options.requestTimeoutMs],
    ['connectTimeoutMs', options.connectTimeoutMs],
  ] as const) {
    if (value !== undefined && (!Number.isFinite(value) || value <= 0)) {
      throw new RangeError(`${name} must be a positive number, got ${value}`);
    }
  }
}
