/**
 * The protocol listener: a TCP server on the configured address that hands each socket to a
 * `ConnectionHandler`.
 *
 * - At most `maxConnections` clients at once, and at most `maxConnectionsPerIp` from one client
 *   address, so one host (or one attacker) cannot take every slot. One more is refused with a clean
 *   close (FIN, after reading and discarding what it sent; destroyed if it lingers), counted by
 *   reason and logged at debug level, so a flood of connections costs the broker little and never
 *   stops it.
 * - A connection is closed when it sends no valid request within `firstRequestTimeoutMs` of being
 *   accepted, when a frame of it does not arrive whole within `requestReadTimeoutMs` of its first
 *   byte, and when it is idle for `connectionIdleMs` (no bytes either way, nothing in flight), so
 *   abandoned and trickling sockets do not hold connection slots (`connection-handler.ts`).
 * - Every connection shares one `UnsentBytesBudget`: the answer bytes all clients have not taken
 *   are bounded across the broker, as each connection's are by `maxUnsentBytesPerConnection`.
 * - `close()` is the graceful half of shutdown: stop accepting, let every connection finish the
 *   requests it already read and write their answers, then end the sockets; connections still busy
 *   after `graceMs` are destroyed. The caller (`broker.ts`) closes the logs afterwards.
 */
import net from 'node:net';
import { explainListenError } from './address-in-use.js';
import type { BrokerStats } from './broker-stats.js';
import type { HostPort } from './config.js';
import { ConnectionHandler } from './connection-handler.js';
import { REFUSED_CONNECTION_LINGER_MS } from './limits.js';
import type { Logger } from './logger.js';
import type { BrokerServices } from './request-context.js';
import type { UnsentBytesBudget } from './unsent-bytes-budget.js';

export interface ServerOptions {
  readonly listen: HostPort;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxFrameBytes: number;
  readonly maxInFlightRequestsPerConnection: number;
  readonly maxUnsentBytesPerConnection: number;
  readonly budget: UnsentBytesBudget;
  readonly connectionIdleMs: number;
  readonly firstRequestTimeoutMs: number;
  readonly requestReadTimeoutMs: number;
  readonly services: BrokerServices;
  readonly stats: BrokerStats;
  readonly logger: Logger;
}

export class Server {
  private readonly server: net.Server;
  private readonly options: ServerOptions;
  private readonly connections = new Set<ConnectionHandler>();
  /** Open connections per client address; an address leaves the map with its last connection. */
  private readonly perIp = new Map<string, number>();
  private nextConnectionId = 1;
  private boundAddress: HostPort | undefined;
  private closing = false;

  private constructor(options: ServerOptions) {
    this.options = options;
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /** Binds the listener; resolves once it accepts connections. */
  static async listen(options: ServerOptions): Promise<Server> {
    const server = new Server(options);
    await new Promise<void>((resolve, reject) => {
      // A bind failure is the caller's to report (once, readably); later listener errors are logged.
      const onError = (error: Error): void => reject(explainListenError(error, options.listen, 'port'));
      server.server.once('error', onError);
      server.server.listen({ host: options.listen.host, port: options.listen.port }, () => {
        server.server.off('error', onError);
        server.server.on('error', (error) => options.logger.error({ err: error }, 'listener error'));
        resolve();
      });
    });
    const address = server.server.address() as net.AddressInfo;
    server.boundAddress = Object.freeze({ host: options.listen.host, port: address.port });
    return server;
  }

  /** The address the listener is bound to (the real port when 0 was asked for). */
  get address(): HostPort {
    return this.boundAddress as HostPort;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: net.Socket): void {
    const { stats, logger } = this.options;
    // A socket reset before it was accepted has no address; it is counted under ''.
    const ip = socket.remoteAddress ?? '';
    const fromIp = this.perIp.get(ip) ?? 0;
    const reason = this.closing
      ? 'shutting down'
      : this.connections.size >= this.options.maxConnections
        ? 'connection limit'
        : fromIp >= this.options.maxConnectionsPerIp
          ? 'ip limit'
          : undefined;
    if (reason !== undefined) {
      if (reason === 'shutting down') stats.connectionsRefusedShuttingDown += 1;
      else if (reason === 'connection limit') stats.connectionsRefusedConnectionLimit += 1;
      else stats.connectionsRefusedIpLimit += 1;
      logger.debug({ remote: `${ip}:${socket.remotePort}`, open: this.connections.size, openFromIp: fromIp, reason }, 'connection refused');
      socket.on('error', () => undefined);
      socket.resume();
      socket.end();
      setTimeout(() => socket.destroy(), REFUSED_CONNECTION_LINGER_MS).unref();
      return;
    }
    const id = this.nextConnectionId++;
    stats.connectionsAccepted += 1;
    stats.connectionsOpen += 1;
    this.perIp.set(ip, fromIp + 1);
    const connection = new ConnectionHandler({
      socket,
      id,
      services: this.options.services,
      stats,
      maxFrameBytes: this.options.maxFrameBytes,
      maxInFlightRequests: this.options.maxInFlightRequestsPerConnection,
      maxUnsentBytes: this.options.maxUnsentBytesPerConnection,
      budget: this.options.budget,
      idleMs: this.options.connectionIdleMs,
      firstRequestTimeoutMs: this.options.firstRequestTimeoutMs,
      requestReadTimeoutMs: this.options.requestReadTimeoutMs,
      logger: logger.child({ connectionId: id, remote: `${socket.remoteAddress}:${socket.remotePort}` }),
      onClosed: (closed) => {
        this.connections.delete(closed);
        stats.connectionsOpen -= 1;
        const left = (this.perIp.get(ip) ?? 1) - 1;
        if (left === 0) this.perIp.delete(ip);
        else this.perIp.set(ip, left);
      },
    });
    this.connections.add(connection);
    connection.logger.debug('connection accepted');
  }

  /** Stops accepting, drains every connection (destroying those still busy after `graceMs`). */
  async close(graceMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const drained = Promise.all([...this.connections].map((c) => c.drain()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const outcome = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.options.logger.warn({ connections: this.connections.size }, 'connections still busy after the shutdown grace period; closing them');
      for (const connection of this.connections) connection.destroy();
      await drained;
    }
    await listenerClosed;
  }
}
