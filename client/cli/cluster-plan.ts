/**
 * Where each broker of a local cluster (`strata cluster up`) listens and keeps its data, and the
 * `strata broker start` arguments that say so. Pure: the ports come in, already chosen.
 *
 * Node ids run 1..N. With a base port B, broker i listens on B+i-1 and serves HTTP on B+80+i-1
 * (7401.. and 7481.. by default, the single broker's defaults for node 1). With base port 0 the
 * caller allocates 2N free ports first (`free-ports.ts`): every broker's `--peers` must name every
 * voter's address before any broker starts, so "bind port 0 and report it" cannot work here.
 */
import path from 'node:path';

/** HTTP ports sit this far above the protocol ports (7401 → 7481), as the single broker's defaults. */
export const HTTP_PORT_OFFSET = 80;
/**
 * Voters of a local cluster, at most. More voters only slow every commit on one machine, and below
 * `HTTP_PORT_OFFSET` the protocol and HTTP port ranges cannot overlap.
 */
export const CLUSTER_NODES_MAX = 9;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ClusterNodePlan {
  readonly nodeId: number;
  readonly listen: HostPort;
  readonly http: HostPort;
  readonly dataDir: string;
}

export interface ClusterLayout {
  readonly nodes: number;
  readonly host: string;
  /** 0: free ports, given as `freePorts`. */
  readonly basePort: number;
  readonly dataDir: string;
}

/**
 * The plan of every broker. `freePorts` (2 × nodes of them: protocol ports, then HTTP ports) is
 * required when `basePort` is 0 and refused otherwise.
 */
export function planCluster(layout: ClusterLayout, freePorts?: readonly number[]): ClusterNodePlan[] {
  const { nodes, host, basePort, dataDir } = layout;
  if (!Number.isSafeInteger(nodes) || nodes < 1 || nodes > CLUSTER_NODES_MAX) throw new Error(`a cluster has 1 to ${CLUSTER_NODES_MAX} nodes, got ${nodes}`);
  if (basePort === 0) {
    if (freePorts === undefined || freePorts.length !== 2 * nodes) throw new Error(`base port 0 needs ${2 * nodes} free ports, got ${freePorts?.length ?? 0}`);
  } else {
    if (freePorts !== undefined) throw new Error('free ports are only for base port 0');
    const highest = basePort + HTTP_PORT_OFFSET + nodes - 1;
    if (!Number.isSafeInteger(basePort) || basePort < 1 || highest > 65535) throw new Error(`base port ${basePort} puts ports outside 1..65535 (the highest would be ${highest})`);
  }
  return Array.from({ length: nodes }, (_, i) => ({
    nodeId: i + 1,
    listen: { host, port: basePort === 0 ? freePorts![i]! : basePort + i },
    http: { host, port: basePort === 0 ? freePorts![nodes + i]! : basePort + HTTP_PORT_OFFSET + i },
    dataDir: path.join(dataDir, `node-${i + 1}`),
  }));
}

/** `HOST:PORT`, with brackets around an IPv6 host. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `--peers`: `1@HOST:PORT,2@HOST:PORT,…`, every voter's protocol address. */
export function peersFlag(plans: readonly ClusterNodePlan[]): string {
  return plans.map((p) => `${p.nodeId}@${formatHostPort(p.listen)}`).join(',');
}

/** The bootstrap list a client is given: every broker's protocol address. */
export function bootstrapList(plans: readonly ClusterNodePlan[]): string {
  return plans.map((p) => formatHostPort(p.listen)).join(',');
}

/** The `strata` arguments that start broker `plan` of the cluster `plans`. */
export function brokerStartArgs(plan: ClusterNodePlan, plans: readonly ClusterNodePlan[], logLevel: string): string[] {
  return ['broker', 'start', ...brokerFlags(plan, plans), '--log-level', logLevel];
}

/** The flags of `strata broker start` that make `plan` a member of the cluster `plans`. */
export function brokerFlags(plan: ClusterNodePlan, plans: readonly ClusterNodePlan[]): string[] {
  return [
    '--node-id',
    String(plan.nodeId),
    '--peers',
    peersFlag(plans),
    '--listen',
    formatHostPort(plan.listen),
    '--http',
    formatHostPort(plan.http),
    '--data',
    plan.dataDir,
  ];
}
