/**
 * Connections from this broker to the other brokers of its cluster for the requests a coordinator
 * sends them (WriteTxnMarkers): one per broker, opened on first use with the protocol's `Connection`
 * to the address the broker registered in the cluster metadata, dropped when it fails (the next
 * request opens a new one). Raft traffic has its own links (`peer-links.ts`).
 */
import { Connection, StrataError } from '../../client/protocol/index.js';
import type { ClusterNode } from '../cluster/cluster-node.js';

const CONNECT_TIMEOUT_MS = 5000;

export class BrokerConnections {
  private readonly cluster: ClusterNode;
  private readonly clientId: string;
  private readonly open = new Map<number, Promise<Connection>>();
  private closed = false;

  constructor(cluster: ClusterNode, nodeId: number) {
    this.cluster = cluster;
    this.clientId = `strata-broker-${nodeId}`;
  }

  /** The connection to broker `nodeId`; NETWORK_EXCEPTION when it is unknown or unreachable. */
  connection(nodeId: number): Promise<Connection> {
    if (this.closed) return Promise.reject(new StrataError('BROKER_SHUTTING_DOWN'));
    const existing = this.open.get(nodeId);
    if (existing !== undefined) return existing;
    const broker = this.cluster.quorum.image.broker(nodeId);
    if (broker === undefined) return Promise.reject(new StrataError('NETWORK_EXCEPTION', `broker ${nodeId} has not registered an address`));
    const opening = Connection.connect({ host: broker.host, port: broker.port, clientId: this.clientId, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    this.open.set(nodeId, opening);
    opening.then(
      (connection) => connection.onClose(() => this.forget(nodeId, opening)),
      () => this.forget(nodeId, opening),
    );
    return opening;
  }

  /** Drops the connection to `nodeId` after a failure on it. */
  drop(nodeId: number): void {
    const existing = this.open.get(nodeId);
    if (existing === undefined) return;
    this.open.delete(nodeId);
    existing.then((connection) => connection.close(), () => undefined).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((opening) => opening.then((connection) => connection.close(), () => undefined)));
  }

  private forget(nodeId: number, opening: Promise<Connection>): void {
    if (this.open.get(nodeId) === opening) this.open.delete(nodeId);
  }
}
