/**
 * One client connection: cuts the byte stream into frames, decodes each request, runs its handler
 * and writes the answers back **in the order the requests arrived**, whatever order the handlers
 * finish in. Handlers run concurrently; a parked long-poll fetch holds back only the answers queued
 * behind it (as in Kafka, where consumers fetch on a connection of their own).
 *
 * ```
 *  socket ──► FrameReader ──► backlog ──► dispatch (≤ maxInFlight) ──► slots[] in arrival order
 *                                                                       │ handler resolves: slot done
 *  socket ◄──────────────── write every done slot at the head ◄─────────┘
 * ```
 *
 * - In-flight requests (dispatched, not yet written) are bounded: at the bound, and while the
 *   socket's write buffer is full, the socket is paused, so a client that pipelines without reading
 *   is slowed down instead of growing the broker's memory. Frames already read wait in the backlog.
 * - A frame whose header decodes but whose api key or version is unknown answers UNSUPPORTED_VERSION
 *   in the response header; a header that decodes with an unreadable body answers INVALID_REQUEST.
 *   A frame whose header cannot be read, or one longer than `maxFrameBytes`, cannot be answered (no
 *   correlation id can be trusted): it is logged and the connection is closed.
 * - A handler that throws answers the error's code in the response header (UNKNOWN_SERVER_ERROR for
 *   a bug, which is logged); the connection stays open. A broken invariant is rethrown out of the
 *   event loop: the process stops (STYLE.md).
 * - A client that disconnects mid-request is fine: its handlers finish, their answers are dropped,
 *   and the connection's abort signal wakes its parked fetches.
 * - A connection idle for `idleMs` with nothing in flight is closed.
 * - `drain()` (graceful shutdown) stops reading, finishes every request already read, writes the
 *   answers and ends the socket.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { InvariantViolation } from '../log/index.js';
import {
  API_KEYS,
  API_REGISTRY,
  decodeRequestFrame,
  encodeResponseFrame,
  encodeResponseFrameChunks,
  errorCodeOf,
  FrameReader,
  isApiKey,
  RequestDecodeError,
  type DecodedRequest,
} from '../client/protocol/index.js';
import { UNKNOWN_API_KEY, type BrokerStats } from './broker-stats.js';
import { handlerFor } from './handler-registry.js';
import { errorFields, type Logger } from './logger.js';
import type { BrokerServices, RequestContext } from './request-context.js';

const EMPTY = Buffer.alloc(0);

export interface ConnectionHandlerOptions {
  readonly socket: net.Socket;
  readonly id: number;
  readonly services: BrokerServices;
  readonly stats: BrokerStats;
  readonly maxFrameBytes: number;
  readonly maxInFlightRequests: number;
  /** Close after this long without traffic while nothing is in flight; 0 disables. */
  readonly idleMs: number;
  readonly logger: Logger;
  readonly onClosed: (connection: ConnectionHandler) => void;
}

interface Slot {
  done: boolean;
  /**
   * The answer to write as chunks (a fetch response's record batches are chunks of their own, not
   * copied into the frame), or undefined for a request that is not answered (acks 0).
   */
  frame: Buffer[] | undefined;
}

export class ConnectionHandler {
  readonly id: number;
  readonly logger: Logger;
  private readonly socket: net.Socket;
  private readonly services: BrokerServices;
  private readonly stats: BrokerStats;
  private readonly maxInFlight: number;
  private readonly reader: FrameReader;
  private readonly abort = new AbortController();
  private readonly onClosed: (connection: ConnectionHandler) => void;
  /** Frames read and not yet dispatched: `backlog[backlogHead..]` (an index, so taking one is O(1)). */
  private backlog: Buffer[] = [];
  private backlogHead = 0;
  private readonly slots: Slot[] = [];
  private paused = false;
  private writeBlocked = false;
  private draining = false;
  private closed = false;
  private readonly closedPromise: Promise<void>;

  constructor(options: ConnectionHandlerOptions) {
    this.id = options.id;
    this.socket = options.socket;
    this.services = options.services;
    this.stats = options.stats;
    this.maxInFlight = options.maxInFlightRequests;
    this.reader = new FrameReader(options.maxFrameBytes);
    this.logger = options.logger;
    this.onClosed = options.onClosed;
    this.socket.setNoDelay(true);
    this.closedPromise = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error) => this.logger.debug({ err: error }, 'socket error'));
    this.socket.on('close', () => this.onClose());
    if (options.idleMs > 0) {
      this.socket.setTimeout(options.idleMs, () => {
        if (this.inFlight > 0) return;
        this.logger.debug({ idleMs: options.idleMs }, 'closing an idle connection');
        this.socket.destroy();
      });
    }
    this.socket.on('drain', () => {
      this.writeBlocked = false;
      this.pump();
    });
  }

  /** Requests read and not yet answered (dispatched or waiting in the backlog). */
  get inFlight(): number {
    return this.slots.length + this.backlogLength;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Graceful close: read nothing more, answer every request already read, then end the socket.
   * Resolves when the socket has closed.
   */
  drain(): Promise<void> {
    if (!this.closed && !this.draining) {
      this.draining = true;
      this.setPaused(true);
      this.pump();
    }
    return this.closedPromise;
  }

  /** Closes at once, dropping unanswered requests. */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.stats.bytesIn += chunk.length;
    if (this.closed || this.draining) return;
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      this.closeForProtocolError(error, 'frame too large or unreadable; closing the connection');
      return;
    }
    for (const frame of frames) this.backlog.push(frame);
    this.pump();
  }

  /**
   * Dispatches backlog frames while under the in-flight bound, writes what is ready, and repeats
   * while that frees room; then pauses or resumes reading. Iterative, so a chunk holding thousands
   * of frames answered at once (unknown api keys) never deepens the stack.
   */
  private pump(): void {
    for (;;) {
      while (!this.closed && this.backlogLength > 0 && this.slots.length < this.maxInFlight) {
        const frame = this.backlog[this.backlogHead] as Buffer;
        this.backlog[this.backlogHead++] = EMPTY;
        if (this.backlogHead === this.backlog.length) this.clearBacklog();
        this.dispatch(frame);
      }
      if (this.writeReady() === 0 || this.backlogLength === 0 || this.closed) break;
    }
    if (this.closed) return;
    if (this.draining) {
      if (this.slots.length === 0 && this.backlogLength === 0) this.socket.end();
      return;
    }
    this.setPaused(this.backlogLength > 0 || this.slots.length >= this.maxInFlight || this.writeBlocked);
  }

  private get backlogLength(): number {
    return this.backlog.length - this.backlogHead;
  }

  private clearBacklog(): void {
    this.backlog = [];
    this.backlogHead = 0;
  }

  private setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    if (paused) this.socket.pause();
    else this.socket.resume();
  }

  /** Starts serving one frame. Nothing it throws may escape to the event loop (the process must live). */
  private dispatch(payload: Buffer): void {
    try {
      this.dispatchFrame(payload);
    } catch (error) {
      if (error instanceof InvariantViolation) throw error;
      this.logger.error(errorFields(error), 'could not dispatch a request; closing the connection');
      this.socket.destroy();
    }
  }

  private dispatchFrame(payload: Buffer): void {
    let request: DecodedRequest;
    try {
      request = decodeRequestFrame(payload);
    } catch (error) {
      if (error instanceof RequestDecodeError && error.header !== undefined) {
        const { header } = error;
        // Debug, not warn: a client can send these by the thousand; the counters below keep score.
        this.logger.debug({ ...errorFields(error), apiKey: header.apiKey, apiVersion: header.apiVersion, correlationId: header.correlationId, clientId: header.clientId }, 'request rejected');
        // Unknown api keys share one counter, so a hostile client cannot grow the table.
        this.stats.recordRequest(isApiKey(header.apiKey) ? header.apiKey : UNKNOWN_API_KEY, error.code, 0);
        // An error answer is the header alone; the api key only picks a body codec, which is not used,
        // so an unknown key borrows a known one and the bytes are the same.
        const apiKey = isApiKey(header.apiKey) ? header.apiKey : API_KEYS.apiVersions;
        const frame = encodeResponseFrame({ correlationId: header.correlationId, errorCode: error.code }, apiKey, undefined);
        this.slots.push({ done: true, frame: [frame] });
        return;
      }
      this.closeForProtocolError(error, 'request header unreadable; closing the connection');
      return;
    }
    const slot: Slot = { done: false, frame: undefined };
    this.slots.push(slot);
    void this.serve(request, slot);
  }

  private async serve(request: DecodedRequest, slot: Slot): Promise<void> {
    const { header } = request;
    const apiKey = header.apiKey;
    const started = performance.now();
    // The request's child logger is made only if something logs: most requests log nothing.
    let requestLogger: Logger | undefined;
    const parent = this.logger;
    const context: RequestContext = {
      header,
      clientHost: this.socket.remoteAddress ?? '',
      signal: this.abort.signal,
      services: this.services,
      get logger() {
        return (requestLogger ??= parent.child({ api: API_REGISTRY[apiKey].name, correlationId: header.correlationId, clientId: header.clientId }));
      },
    };
    let errorCode = 0;
    try {
      const body = await handlerFor(apiKey)(request.body as never, context);
      if (body !== undefined) slot.frame = encodeResponseFrameChunks({ correlationId: header.correlationId, errorCode: 0 }, apiKey, body as never);
    } catch (error) {
      if (error instanceof InvariantViolation) {
        // A broken invariant stops the process: out of the promise chain, nobody catches it.
        process.nextTick(() => {
          throw error;
        });
        return;
      }
      errorCode = errorCodeOf(error);
      context.logger.error(errorFields(error), 'request failed');
      try {
        slot.frame = [encodeResponseFrame({ correlationId: header.correlationId, errorCode }, apiKey, undefined)];
      } catch (encodeError) {
        context.logger.error(errorFields(encodeError), 'could not encode an error answer; closing the connection');
        this.socket.destroy();
      }
    }
    this.stats.recordRequest(apiKey, errorCode, performance.now() - started);
    slot.done = true;
    this.flush();
  }

  /** A handler finished: write what is ready and read on. */
  private flush(): void {
    this.pump();
  }

  /**
   * Writes every finished answer at the head of the queue, in arrival order; returns how many slots
   * it freed. Several answers ready at once (a pipelining producer's acks, finished together by one
   * group commit), or one answer in several chunks (a fetch response and its batches), are corked
   * into one writev instead of one syscall each.
   */
  private writeReady(): number {
    let ready = 0;
    while (ready < this.slots.length && (this.slots[ready] as Slot).done) ready += 1;
    if (ready === 0) return 0;
    const cork = (ready > 1 || ((this.slots[0] as Slot).frame?.length ?? 0) > 1) && !this.closed && this.socket.writable;
    if (cork) this.socket.cork();
    for (let i = 0; i < ready; i++) {
      const { frame } = this.slots.shift() as Slot;
      if (frame === undefined || this.closed || !this.socket.writable) continue;
      for (const chunk of frame) {
        this.stats.bytesOut += chunk.length;
        if (!this.socket.write(chunk)) this.writeBlocked = true;
      }
    }
    if (cork) this.socket.uncork();
    return ready;
  }

  private closeForProtocolError(error: unknown, message: string): void {
    this.logger.warn({ ...errorFields(error), bufferedBytes: this.reader.bufferedBytes }, message);
    this.stats.connectionsClosedForProtocolErrors += 1;
    this.clearBacklog();
    // Answers already finished go out first; then close. Nothing more is read.
    this.draining = true;
    this.setPaused(true);
    this.socket.destroySoon();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearBacklog();
    this.abort.abort();
    this.logger.debug('connection closed');
    this.onClosed(this);
  }
}
