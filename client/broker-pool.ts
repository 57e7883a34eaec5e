/**
 * One connection per broker address, shared by every producer, consumer and admin of a client, and
 * opened again after it is lost.
 *
 * Reconnecting backs off: after n consecutive failed connects to an address, the next attempt waits
 * `backoffMs(n - 1)` (exponential with jitter, `retry.ts`), and callers asking meanwhile wait for that
 * same attempt instead of starting their own. A successful connect resets the count. A connection
 * that closes (the broker went away, a protocol error) is dropped from the pool at once; the next
 * request opens a new one.
 *
 * Lanes: `get(address, lane)` names a connection of its own to the same address. The broker answers
 * a connection's requests strictly in order, so a request it holds (a consumer-group heartbeat long
 * poll, a fetch long poll) delays everything sent after it on that connection; a consumer gives its
 * heartbeats a lane of their own, and group requests (commits, offset fetches) a lane on which
 * nothing is ever held. A lane is the same pool slot rules (reconnect, backoff) under another key;
 * `closeLane` closes a lane's connections when its owner is done with them.
 *
 * Concurrency: at most one connect per address and lane is in progress; every caller gets its promise.
 */
import { Connection, StrataError } from './protocol/index.js';
import { backoffMs, sleep, type RetryOptions } from './retry.js';

export interface BrokerAddress {
  host: string;
  port: number;
}

/** What the pool needs to open a connection; injected so tests can substitute a transport. */
export type ConnectFn = (options: {
  host: string;
  port: number;
  clientId: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
}) => Promise<Connection>;

export interface BrokerPoolOptions {
  clientId: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  retry: RetryOptions;
  connect?: ConnectFn;
  now?: () => number;
}

interface Slot {
  readonly lane: string | undefined;
  connection: Connection | undefined;
  connecting: Promise<Connection> | undefined;
  failures: number;
  retryAtMs: number;
}

export function addressKey(address: BrokerAddress): string {
  return `${address.host}:${address.port}`;
}

function slotKey(address: BrokerAddress, lane: string | undefined): string {
  return lane === undefined ? addressKey(address) : `${addressKey(address)}#${lane}`;
}

export class BrokerPool {
  private readonly options: BrokerPoolOptions;
  private readonly slots = new Map<string, Slot>();
  private readonly connectFn: ConnectFn;
  private readonly now: () => number;
  private isClosed = false;

  constructor(options: BrokerPoolOptions) {
    this.options = options;
    this.connectFn = options.connect ?? ((o) => Connection.connect(o));
    this.now = options.now ?? Date.now;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * The open connection to `address` (on `lane`, when given: a connection of its own), connecting
   * (after any backoff) when there is none.
   */
  get(address: BrokerAddress, lane?: string): Promise<Connection> {
    if (this.isClosed) return Promise.reject(new StrataError('NETWORK_EXCEPTION', 'The client is closed.'));
    const key = slotKey(address, lane);
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = { lane, connection: undefined, connecting: undefined, failures: 0, retryAtMs: 0 };
      this.slots.set(key, slot);
    }
    if (slot.connection !== undefined && !slot.connection.closed) return Promise.resolve(slot.connection);
    if (slot.connecting !== undefined) return slot.connecting;
    const s = slot;
    s.connecting = this.open(address, s).finally(() => {
      s.connecting = undefined;
    });
    return s.connecting;
  }

  /** Whether a connection to `address` (on `lane`) is open now (no connect attempted). */
  isConnected(address: BrokerAddress, lane?: string): boolean {
    const connection = this.slots.get(slotKey(address, lane))?.connection;
    return connection !== undefined && !connection.closed;
  }

  /**
   * Closes the lane's connections to every address and forgets them (requests in flight on them
   * fail with NETWORK_EXCEPTION); a later `get` on the lane connects again.
   */
  async closeLane(lane: string): Promise<void> {
    const closing: Array<Promise<void>> = [];
    for (const [key, slot] of this.slots) {
      if (slot.lane !== lane) continue;
      this.slots.delete(key);
      if (slot.connection !== undefined) closing.push(slot.connection.close());
      // A connect in progress is closed as soon as it lands: its slot is gone from the pool.
      if (slot.connecting !== undefined) closing.push(slot.connecting.then((c) => c.close(), () => undefined));
    }
    await Promise.all(closing);
  }

  private async open(address: BrokerAddress, slot: Slot): Promise<Connection> {
    const wait = slot.retryAtMs - this.now();
    if (wait > 0) await sleep(wait);
    if (this.isClosed) throw new StrataError('NETWORK_EXCEPTION', 'The client is closed.');
    let connection: Connection;
    try {
      connection = await this.connectFn({
        host: address.host,
        port: address.port,
        clientId: this.options.clientId,
        requestTimeoutMs: this.options.requestTimeoutMs,
        connectTimeoutMs: this.options.connectTimeoutMs,
      });
    } catch (error) {
      slot.retryAtMs = this.now() + backoffMs(slot.failures, this.options.retry);
      slot.failures++;
      throw error;
    }
    if (this.isClosed) {
      await connection.close();
      throw new StrataError('NETWORK_EXCEPTION', 'The client is closed.');
    }
    slot.failures = 0;
    slot.retryAtMs = 0;
    slot.connection = connection;
    connection.onClose(() => {
      if (slot.connection === connection) slot.connection = undefined;
    });
    return connection;
  }

  /** Closes every connection; later `get` calls fail. */
  async close(): Promise<void> {
    this.isClosed = true;
    const connections = [...this.slots.values()].flatMap((slot) => (slot.connection === undefined ? [] : [slot.connection]));
    this.slots.clear();
    await Promise.all(connections.map((c) => c.close()));
  }
}
