/**
 * The Raft network of one broker: one outbound connection per peer broker, over which the
 * `RaftHost`'s batches travel as one-way RaftMessages requests (the peer's answers come back on the
 * peer's own link to us, never on this one).
 *
 * Each link is a small state machine:
 *
 * ```
 *   idle --send--> connecting --ok--> up --closed--> backoff --timer--> idle
 *                       |                               ^
 *                       +------------failed-------------+
 * ```
 *
 * - Lazy: a link connects on the first batch for its peer, and again on the first batch after its
 *   backoff expired; the backoff doubles per consecutive failure (a refused connect or an
 *   established link lost) from `reconnectBackoffMs` up to `reconnectBackoffMaxMs`, and is reset
 *   by a successful connect. No jitter: each broker has one link per peer, so there is no herd.
 * - Never blocks, never grows without bound: a batch is written only to a link that is up and whose
 *   socket holds at most `maxUnsentBytes`; any other batch is dropped and counted (Raft tolerates
 *   loss: heartbeats come again next tick and appends are resent). So a link buffers at most the
 *   bound plus one batch.
 * - Logs once per change of a link's state (up, lost, unreachable), never per batch.
 *
 * Concurrency: single-threaded; a connect in flight is tracked so that only one is ever open per
 * peer. After `close()` every send is ignored and no timer or connection is left behind.
 */
import { API_KEYS, Connection, type RaftMessagesRequest } from '../client/protocol/index.js';
import type { NodeId, PeerTransport, RaftBatch } from '../replication/index.js';
import {
  RAFT_PEER_CONNECT_TIMEOUT_MS_DEFAULT,
  RAFT_PEER_MAX_UNSENT_BYTES_DEFAULT,
  RAFT_PEER_RECONNECT_BACKOFF_MAX_MS_DEFAULT,
  RAFT_PEER_RECONNECT_BACKOFF_MS_DEFAULT,
} from './limits.js';
import { errorFields, type Logger } from './logger.js';
import { encodeRaftBatch } from './raft-batch-codec.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** What a link needs of a connection; `Connection` is one. */
export interface PeerConnection {
  readonly closed: boolean;
  readonly unsentBytes: number;
  send(apiKey: typeof API_KEYS.raftMessages, body: RaftMessagesRequest): void;
  onClose(listener: (error: Error | undefined) => void): () => void;
  destroy(): void;
}

export interface PeerLinksTimers {
  after(ms: number, callback: () => void): { cancel(): void };
}

export interface PeerLinksOptions {
  nodeId: NodeId;
  peers: ReadonlyMap<NodeId, PeerAddress>;
  logger: Logger;
  /** Real timers (unref'd) by default. */
  timers?: PeerLinksTimers;
  /** `Connection.connect` by default. */
  connect?: (peer: PeerAddress, clientId: string) => Promise<PeerConnection>;
  maxUnsentBytes?: number;
  reconnectBackoffMs?: number;
  reconnectBackoffMaxMs?: number;
  connectTimeoutMs?: number;
}

export type PeerLinkState = 'idle' | 'connecting' | 'up' | 'backoff' | 'closed';

export interface PeerLinkStats {
  readonly state: PeerLinkState;
  readonly sentBatches: number;
  /** Batches dropped because the link was not up or its socket was above the bound. */
  readonly droppedBatches: number;
  /** Successful connects. */
  readonly connects: number;
  /** Consecutive failures (a refused connect or a lost link) since the last connect. */
  readonly failures: number;
}

interface Link {
  readonly peer: NodeId;
  readonly address: PeerAddress;
  readonly logger: Logger;
  state: PeerLinkState;
  connection: PeerConnection | undefined;
  timer: { cancel(): void } | undefined;
  failures: number;
  sentBatches: number;
  droppedBatches: number;
  connects: number;
  /** Whether the current outage was logged already (one line per outage, not per retry). */
  outageLogged: boolean;
}

const REAL_TIMERS: PeerLinksTimers = {
  after(ms, callback) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

export class PeerLinks implements PeerTransport {
  readonly nodeId: NodeId;
  private readonly links = new Map<NodeId, Link>();
  private readonly logger: Logger;
  private readonly timers: PeerLinksTimers;
  private readonly connect: (peer: PeerAddress, clientId: string) => Promise<PeerConnection>;
  private readonly clientId: string;
  private readonly maxUnsentBytes: number;
  private readonly reconnectBackoffMs: number;
  private readonly reconnectBackoffMaxMs: number;
  private closed = false;
  /** Batches for a node that is not a peer. */
  private unknownPeerBatches = 0;

  constructor(options: PeerLinksOptions) {
    this.nodeId = options.nodeId;
    this.logger = options.logger.child({ component: 'raft-peer-links' });
    this.timers = options.timers ?? REAL_TIMERS;
    this.clientId = `strata-broker-${options.nodeId}-raft`;
    this.maxUnsentBytes = positive('maxUnsentBytes', options.maxUnsentBytes ?? RAFT_PEER_MAX_UNSENT_BYTES_DEFAULT);
    this.reconnectBackoffMs = positive('reconnectBackoffMs', options.reconnectBackoffMs ?? RAFT_PEER_RECONNECT_BACKOFF_MS_DEFAULT);
    this.reconnectBackoffMaxMs = positive('reconnectBackoffMaxMs', options.reconnectBackoffMaxMs ?? RAFT_PEER_RECONNECT_BACKOFF_MAX_MS_DEFAULT);
    if (this.reconnectBackoffMaxMs < this.reconnectBackoffMs) {
      throw new RangeError(`reconnectBackoffMaxMs (${this.reconnectBackoffMaxMs}) must be at least reconnectBackoffMs (${this.reconnectBackoffMs})`);
    }
    const connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs ?? RAFT_PEER_CONNECT_TIMEOUT_MS_DEFAULT);
    this.connect = options.connect ?? ((peer, clientId) => Connection.connect({ host: peer.host, port: peer.port, clientId, connectTimeoutMs }));
    for (const [peer, address] of options.peers) {
      if (peer === options.nodeId) throw new Error(`peer links of node ${peer}: a broker is not its own peer`);
      if (!Number.isInteger(address.port) || address.port <= 0 || address.port > 65535) throw new RangeError(`peer ${peer}: port ${address.port} is not a TCP port`);
      this.links.set(peer, {
        peer,
        address,
        logger: this.logger.child({ peer, peerHost: address.host, peerPort: address.port }),
        state: 'idle',
        connection: undefined,
        timer: undefined,
        failures: 0,
        sentBatches: 0,
        droppedBatches: 0,
        connects: 0,
        outageLogged: false,
      });
    }
  }

  send(to: NodeId, batch: RaftBatch): void {
    if (this.closed) return;
    const link = this.links.get(to);
    if (link === undefined) {
      if (this.unknownPeerBatches++ === 0) this.logger.warn({ to }, 'dropping raft batches for a node that is not a peer');
      return;
    }
    if (link.state === 'idle') this.open(link);
    const connection = link.connection;
    if (link.state !== 'up' || connection === undefined || connection.unsentBytes > this.maxUnsentBytes) {
      link.droppedBatches++;
      return;
    }
    try {
      connection.send(API_KEYS.raftMessages, encodeRaftBatch(batch));
      link.sentBatches++;
    } catch (error) {
      // Closed under us (its close listener moves the link on) or a batch the codec refused: a bug.
      link.droppedBatches++;
      if (!connection.closed) link.logger.error(errorFields(error), 'could not send a raft batch');
    }
  }

  /** Counters and state of the link to each peer. */
  stats(): Map<NodeId, PeerLinkStats> {
    const out = new Map<NodeId, PeerLinkStats>();
    for (const link of this.links.values()) {
      const { state, sentBatches, droppedBatches, connects, failures } = link;
      out.set(link.peer, { state, sentBatches, droppedBatches, connects, failures });
    }
    return out;
  }

  /** Batches dropped because their destination is not a peer. */
  get droppedForUnknownPeers(): number {
    return this.unknownPeerBatches;
  }

  /**
   * Closes every link and cancels every timer; later sends are ignored. What a link had not written
   * yet is dropped (Raft resends), so closing never waits on a peer that stopped reading.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) {
      link.timer?.cancel();
      link.timer = undefined;
      link.state = 'closed';
      link.connection?.destroy();
      link.connection = undefined;
    }
  }

  private open(link: Link): void {
    link.state = 'connecting';
    this.connect(link.address, this.clientId).then(
      (connection) => this.opened(link, connection),
      (error: unknown) => this.failed(link, error),
    );
  }

  private opened(link: Link, connection: PeerConnection): void {
    if (this.closed) {
      connection.destroy();
      return;
    }
    link.state = 'up';
    link.connection = connection;
    link.failures = 0;
    link.connects++;
    link.outageLogged = false;
    link.logger.info({ connects: link.connects }, 'raft peer link up');
    connection.onClose((error) => this.lost(link, connection, error));
  }

  private lost(link: Link, connection: PeerConnection, error: Error | undefined): void {
    if (this.closed || link.connection !== connection) return;
    link.connection = undefined;
    link.logger.warn({ ...(error === undefined ? {} : errorFields(error)), droppedBatches: link.droppedBatches }, 'raft peer link lost');
    link.outageLogged = true;
    this.backOff(link);
  }

  private failed(link: Link, error: unknown): void {
    if (this.closed) return;
    if (!link.outageLogged) {
      link.logger.warn(errorFields(error), 'raft peer unreachable; retrying with backoff');
      link.outageLogged = true;
    }
    this.backOff(link);
  }

  private backOff(link: Link): void {
    link.failures++;
    const delayMs = Math.min(this.reconnectBackoffMs * 2 ** Math.min(link.failures - 1, 30), this.reconnectBackoffMaxMs);
    link.state = 'backoff';
    link.timer = this.timers.after(delayMs, () => {
      link.timer = undefined;
      if (link.state === 'backoff') link.state = 'idle';
    });
  }
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
