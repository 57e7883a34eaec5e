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
 *   socket's write buffer is full, the socket is paused. Frames already read wait in the backlog.
 * - Unsent answer bytes are bounded: `unsentBytes` counts the bytes of every finished answer until
 *   the socket hands them to the kernel (answers waiting behind an earlier one, and the socket's
 *   write buffer). At `maxUnsentBytes`, or while the broker-wide budget (`unsent-bytes-budget.ts`)
 *   is spent and this connection holds any, nothing more is dispatched and the socket is paused
 *   until the client reads. So a client that pipelines without reading costs the broker a
 *   bounded amount of memory instead of every answer it asked for.
 * - Large answers are built one at a time: a fetch asks for the connection's answer room
 *   (`RequestContext.answerRoom`) before it reads, gets it once no other fetch of the connection is
 *   building and the unsent bytes are under the bounds (the oldest unanswered request is judged by
 *   the bytes in the socket alone, see `grantAnswerRoom`), and keeps it until its answer is finished
 *   — or until it parks as a long poll holding no bytes (`leaveAnswerRoom`), so long polls of one
 *   connection still wait side by side. A connection's memory is thus at most its bound plus one
 *   answer.
 * - Deadlines: a connection that sends no valid request within `firstRequestTimeoutMs` of being
 *   accepted is closed; so is one whose frame does not arrive whole within `requestReadTimeoutMs`
 *   of its first byte (slowloris; the clock stops while the broker itself is not reading); so is one
 *   idle for `idleMs` with nothing in flight. Each is counted in `BrokerStats` and logged at debug.
 * - A frame whose header decodes but whose api key or version is unknown answers UNSUPPORTED_VERSION
 *   in the response header; a header that decodes with an unreadable body answers INVALID_REQUEST.
 *   A frame whose header cannot be read, or one longer than `maxFrameBytes`, cannot be answered (no
 *   correlation id can be trusted): it is logged and the connection is closed.
 * - A handler that throws answers the error's code in the response header (UNKNOWN_SERVER_ERROR for
 *   a bug, which is logged); the connection stays open. A broken invariant is rethrown out of the
 *   event loop: the process stops (STYLE.md).
 * - A client that disconnects mid-request is fine: its handlers finish, their answers are dropped,
 *   and the connection's abort signal wakes its parked fetches.
 * - `drain()` (graceful shutdown) stops reading, finishes every request already read, writes the
 *   answers and ends the socket, then reads on only to discard what the client still sends until
 *   it closes its side.
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
import type { UnsentBytesBudget, UnsentBytesHolder } from './unsent-bytes-budget.js';

const EMPTY = Buffer.alloc(0);

export interface ConnectionHandlerOptions {
  readonly socket: net.Socket;
  readonly id: number;
  readonly services: BrokerServices;
  readonly stats: BrokerStats;
  readonly maxFrameBytes: number;
  readonly maxInFlightRequests: number;
  /** Unsent answer bytes at which the connection stops being read and served. */
  readonly maxUnsentBytes: number;
  /** The broker-wide budget of unsent answer bytes, shared by every connection. */
  readonly budget: UnsentBytesBudget;
  /** Close after this long without traffic while nothing is in flight; 0 disables. */
  readonly idleMs: number;
  /** Close a connection that sent no valid request this long after it was accepted; 0 disables. */
  readonly firstRequestTimeoutMs: number;
  /** Close a connection whose frame is not whole this long after its first byte; 0 disables. */
  readonly requestReadTimeoutMs: number;
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
  /** Bytes of `frame`, counted in `unsentBytes` from the moment the slot is done. */
  bytes: number;
}

interface RoomWaiter {
  readonly slot: Slot;
  readonly resolve: (granted: boolean) => void;
}

export class ConnectionHandler implements UnsentBytesHolder {
  readonly id: number;
  readonly logger: Logger;
  private readonly socket: net.Socket;
  private readonly services: BrokerServices;
  private readonly stats: BrokerStats;
  private readonly maxInFlight: number;
  private readonly maxUnsentBytes: number;
  private readonly budget: UnsentBytesBudget;
  private readonly requestReadTimeoutMs: number;
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
  /** Bytes of finished answers not yet handed to the kernel (see the file comment). */
  private unsent = 0;
  /** The part of `unsent` already written to the socket (its write buffer): it drains as the client reads. */
  private written = 0;
  /** Set when a bound on unsent bytes held work back: a drain of them must pump again. */
  private starved = false;
  /** The request building a large answer now (it holds the answer room), and those waiting for it. */
  private builder: Slot | undefined;
  private readonly roomWaiters: RoomWaiter[] = [];
  /** Whether a valid request was ever read; until then `firstRequestTimeoutMs` runs. */
  private spoken = false;
  private firstRequestTimer: NodeJS.Timeout | undefined;
  /** Runs from a frame's first byte to its last (while the broker reads the socket). */
  private readTimer: NodeJS.Timeout | undefined;

  constructor(options: ConnectionHandlerOptions) {
    this.id = options.id;
    this.socket = options.socket;
    this.services = options.services;
    this.stats = options.stats;
    this.maxInFlight = options.maxInFlightRequests;
    this.maxUnsentBytes = options.maxUnsentBytes;
    this.budget = options.budget;
    this.requestReadTimeoutMs = options.requestReadTimeoutMs;
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
        if (this.inFlight > 0 || this.closed) return;
        this.stats.connectionsClosedIdle += 1;
        this.logger.debug({ idleMs: options.idleMs, unsentBytes: this.unsent }, 'closing an idle connection');
        this.socket.destroy();
      });
    }
    if (options.firstRequestTimeoutMs > 0) {
      this.firstRequestTimer = setTimeout(() => {
        if (this.spoken || this.closed) return;
        this.stats.connectionsClosedFirstRequestTimeout += 1;
        this.logger.debug({ firstRequestTimeoutMs: options.firstRequestTimeoutMs, bytesIn: this.socket.bytesRead }, 'closing a connection that sent no valid request in time');
        this.socket.destroy();
      }, options.firstRequestTimeoutMs);
    }
    this.socket.on('drain', () => {
      this.writeBlocked = false;
      this.pump();
    });
  }

  /** Bytes of finished answers this connection holds that the kernel has not taken yet. */
  get unsentBytes(): number {
    return this.unsent;
  }

  /**
   * The broker-wide budget drained below its bound after refusing this connection: serve on. Run
   * from a microtask, since the budget drains from inside another connection's (or this one's) write.
   */
  wake(): void {
    queueMicrotask(() => {
      if (!this.closed) this.pump();
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
    // Each frame's deadline runs from its first byte: a frame begun in this chunk starts a new one.
    if (!this.reader.inFrame) this.stopReadTimer();
    else if (frames.length > 0 || this.readTimer === undefined) this.startReadTimer();
    this.pump();
  }

  private startReadTimer(): void {
    if (this.requestReadTimeoutMs === 0) return;
    if (this.readTimer !== undefined) {
      this.readTimer.refresh();
      return;
    }
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined;
      if (this.closed || this.paused || !this.reader.inFrame) return;
      this.stats.connectionsClosedRequestReadTimeout += 1;
      this.logger.debug({ requestReadTimeoutMs: this.requestReadTimeoutMs, bufferedBytes: this.reader.bufferedBytes }, 'closing a connection whose frame did not arrive in time');
      this.socket.destroy();
    }, this.requestReadTimeoutMs);
  }

  private stopReadTimer(): void {
    if (this.readTimer === undefined) return;
    clearTimeout(this.readTimer);
    this.readTimer = undefined;
  }

  /**
   * Dispatches backlog frames while under the in-flight bound, writes what is ready, and repeats
   * while that frees room; then pauses or resumes reading. Iterative, so a chunk holding thousands
   * of frames answered at once (unknown api keys) never deepens the stack.
   */
  private pump(): void {
    this.starved = false;
    for (;;) {
      while (!this.closed && this.backlogLength > 0 && this.slots.length < this.maxInFlight && this.mayServeMore()) {
        const frame = this.backlog[this.backlogHead] as Buffer;
        this.backlog[this.backlogHead++] = EMPTY;
        if (this.backlogHead === this.backlog.length) this.clearBacklog();
        this.dispatch(frame);
      }
      if (this.writeReady() === 0 || this.backlogLength === 0 || this.closed) break;
    }
    if (this.closed) return;
    this.grantAnswerRoom();
    if (this.draining) {
      if (this.slots.length === 0 && this.backlogLength === 0) {
        // Read on and discard (onData drops what a draining connection sends) until the peer's FIN:
        // a paused socket never sees it behind unread bytes, and a client that keeps sending (a
        // Raft peer link, an acks-0 producer) would otherwise hold shutdown for the grace period.
        this.socket.end();
        this.socket.resume();
      }
      return;
    }
    this.setPaused(this.backlogLength > 0 || this.slots.length >= this.maxInFlight || this.writeBlocked || !this.mayServeMore());
  }

  /**
   * Whether the unsent answer bytes leave room for more work: under this connection's bound and
   * allowed by the broker's budget. When not, `starved` makes the next drain pump again
   * (and the budget wakes this connection once the broker-wide total drains).
   */
  private mayServeMore(): boolean {
    if (this.unsent < this.maxUnsentBytes && this.budget.allows(this, this.unsent)) return true;
    this.starved = true;
    return false;
  }

  /** A handler asks to build a large answer; resolves true when it may, false if the connection closed. */
  private claimAnswerRoom(slot: Slot): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.roomWaiters.push({ slot, resolve });
      this.grantAnswerRoom();
    });
  }

  /** A handler that holds the room gives it up before its answer is finished (it holds no bytes). */
  private leaveAnswerRoom(slot: Slot): void {
    if (this.builder !== slot) return;
    this.builder = undefined;
    if (!this.closed) this.grantAnswerRoom();
  }

  /**
   * Gives the answer room to the first waiter once no answer is being built and the unsent bytes
   * allow. The oldest unanswered request is judged by the bytes already in the socket only: the
   * answers finished behind it cannot leave before its own, so counting them would make it wait
   * forever; the socket's bytes leave as the client reads.
   */
  private grantAnswerRoom(): void {
    const next = this.roomWaiters[0];
    if (next === undefined || this.builder !== undefined) return;
    const room = this.slots[0] === next.slot ? this.written < this.maxUnsentBytes && this.budget.allows(this, this.written) : this.mayServeMore();
    if (!room) {
      this.starved = true;
      return;
    }
    this.roomWaiters.shift();
    this.builder = next.slot;
    next.resolve(true);
  }

  /** Marks a slot answered with `frame` (undefined: no answer) and counts its bytes as unsent. */
  private finish(slot: Slot, frame: Buffer[] | undefined): void {
    slot.done = true;
    if (this.builder === slot) this.builder = undefined;
    if (frame === undefined || this.closed) return;
    let bytes = 0;
    for (const chunk of frame) bytes += chunk.length;
    slot.frame = frame;
    slot.bytes = bytes;
    this.budget.add(this.unsent, bytes);
    this.unsent += bytes;
  }

  /** `bytes` of answers reached the kernel (a write's callback): serve on if they held work back. */
  private release(bytes: number): void {
    if (this.closed) return;
    this.written -= bytes;
    this.unhold(bytes);
    if (this.starved) this.pump();
  }

  /** `bytes` of answers are no longer held (written, or dropped unwritten). */
  private unhold(bytes: number): void {
    this.budget.release(this.unsent, bytes);
    this.unsent -= bytes;
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
    // A frame's read deadline counts only time the broker reads: it stops while paused, and a
    // frame begun before the pause gets a fresh one when reading resumes.
    if (paused) {
      this.socket.pause();
      this.stopReadTimer();
    } else {
      this.socket.resume();
      if (this.reader.inFrame) this.startReadTimer();
    }
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
        const slot: Slot = { done: false, frame: undefined, bytes: 0 };
        this.slots.push(slot);
        this.finish(slot, [frame]);
        return;
      }
      this.closeForProtocolError(error, 'request header unreadable; closing the connection');
      return;
    }
    if (!this.spoken) {
      this.spoken = true;
      clearTimeout(this.firstRequestTimer);
    }
    const slot: Slot = { done: false, frame: undefined, bytes: 0 };
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
      answerRoom: () => this.claimAnswerRoom(slot),
      leaveAnswerRoom: () => this.leaveAnswerRoom(slot),
      get logger() {
        return (requestLogger ??= parent.child({ api: API_REGISTRY[apiKey].name, correlationId: header.correlationId, clientId: header.clientId }));
      },
    };
    let errorCode = 0;
    let frame: Buffer[] | undefined;
    try {
      const body = await handlerFor(apiKey)(request.body as never, context);
      if (body !== undefined) frame = encodeResponseFrameChunks({ correlationId: header.correlationId, errorCode: 0 }, apiKey, body as never);
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
        frame = [encodeResponseFrame({ correlationId: header.correlationId, errorCode }, apiKey, undefined)];
      } catch (encodeError) {
        context.logger.error(errorFields(encodeError), 'could not encode an error answer; closing the connection');
        this.socket.destroy();
      }
    }
    this.stats.recordRequest(apiKey, errorCode, performance.now() - started);
    this.finish(slot, frame);
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
      const { frame, bytes } = this.slots.shift() as Slot;
      if (frame === undefined) continue;
      if (this.closed || !this.socket.writable) {
        if (!this.closed) this.unhold(bytes);
        continue;
      }
      // The answer stays counted as unsent until the kernel has its last chunk.
      this.written += bytes;
      const last = frame.length - 1;
      for (let c = 0; c <= last; c++) {
        const chunk = frame[c] as Buffer;
        this.stats.bytesOut += chunk.length;
        const below = c < last ? this.socket.write(chunk) : this.socket.write(chunk, () => this.release(bytes));
        if (!below) this.writeBlocked = true;
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
    this.stopReadTimer();
    clearTimeout(this.firstRequestTimer);
    // Whatever was not written is dropped with the socket: it no longer weighs on the budget.
    this.unhold(this.unsent);
    this.budget.forget(this);
    for (const waiter of this.roomWaiters.splice(0)) waiter.resolve(false);
    this.abort.abort();
    this.logger.debug('connection closed');
    this.onClosed(this);
  }
}
