/**
 * A running broker: configuration, partition manager (logs), long-poll purgatory, protocol server,
 * HTTP server (admin API, metrics), counters, and — when `peers` names the cluster's voters — its
 * cluster membership (`cluster/cluster-node.ts`: metadata quorum, Raft host, peer links); without
 * `peers` it is a standalone broker. `startBroker` wires them up; `close()` shuts them down in order:
 *
 * 0. in a cluster, hand every partition this broker leads to a caught-up follower;
 * 1. wake parked fetches and held heartbeats, and park no more (they answer with what they have);
 * 2. stop accepting connections, finish the requests already read, write their answers; the HTTP
 *    server likewise, at the same time;
 * 3. stop the cleanup task and close every log (flush, indexes, clean-shutdown marker);
 *    then, in a cluster, the metadata quorum, the Raft host and the peer links;
 * 4. remove the data dir if it was a temporary one made for this broker.
 */
import { ProducerIdManager } from './producer-id-manager.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BrokerStats } from './broker-stats.js';
import { ClusterNode, type ClusterStatus } from './cluster/cluster-node.js';
import { parseBrokerConfig, type BrokerConfig, type HostPort } from './config.js';
import { prepareDataDir } from './data-dir.js';
import { FetchPurgatory } from './delayed-fetch.js';
import { GroupCoordinator } from './group/group-coordinator.js';
import { HttpServer } from './http-server.js';
import { brokerLogger, createLogger, type Logger } from './logger.js';
import { PartitionManager } from './partition-manager.js';
import type { BrokerServices } from './request-context.js';
import { Server } from './server.js';
import { PartitionMarkers } from './txn/partition-markers.js';
import { TransactionCoordinator } from './txn/transaction-coordinator.js';
import { UnsentBytesBudget } from './unsent-bytes-budget.js';

/** An embedded broker's protocol listener unless told: a free port (its HTTP follows, `config.ts`). */
const EMBEDDED_LISTEN: HostPort = Object.freeze({ host: '127.0.0.1', port: 0 });

export interface BrokerOptions extends Partial<BrokerConfig> {
  /**
   * Where logs go; by default pino JSON lines on stderr at level warn, so an embedded broker keeps
   * its host's stdout clean and still reports what goes wrong (`strata broker start` passes its own).
   */
  readonly logger?: Logger;
  /** Milliseconds since the epoch, for the logs' segment ages and retention (tests inject one). */
  readonly clock?: () => number;
  /** The host of this broker's Raft groups, which RaftMessages requests are delivered to; none by default. */
  readonly raft?: BrokerServices['raft'];
}

export interface Broker {
  readonly config: BrokerConfig;
  readonly nodeId: number;
  readonly dataDir: string;
  /** The protocol listener's bound address (the real port when 0 was asked for). */
  readonly address: HostPort;
  /** The HTTP listener's bound address, or undefined when `http` is null. */
  readonly httpAddress: HostPort | undefined;
  /** Request, byte and connection counters (for a metrics module). */
  readonly stats: BrokerStats;
  /** Topics, partitions, high watermarks (for an admin API or dashboard). */
  readonly partitions: PartitionManager;
  /** The consumer groups this broker coordinates. */
  readonly groups: GroupCoordinator;
  /** The transactional ids this broker coordinates. */
  readonly transactions: TransactionCoordinator;
  /** In a cluster (`peers` set): the metadata quorum, the Raft host and the cluster's status. */
  readonly cluster: ClusterNode | undefined;
  readonly logger: Logger;
  /** Long-poll fetches parked right now. */
  readonly pendingFetches: number;
  /** Answer bytes built for clients and not yet taken by them, across every connection. */
  readonly unsentBytes: number;
  /**
   * Graceful shutdown; safe to call more than once. In a cluster it first hands the partitions this
   * broker leads to caught-up followers; `{ handOff: false }` skips that, so to its peers the broker
   * just vanishes (how the embedded cluster's `killBroker` stops one).
   */
  close(options?: { handOff?: boolean }): Promise<void>;
}

/**
 * Starts a broker. Without `dataDir` it uses a fresh temporary directory that `close()` deletes.
 * Without `listen` it listens on a free port of 127.0.0.1 (see `broker.address`), and without `http`
 * serves HTTP on a free port too (`broker.httpAddress`): an embedded broker (a test, a tool) must
 * never take the well-known ports 7401/7481 of a broker the user runs. `strata broker start` gives
 * `listen` and `http` explicitly (7401/7481 unless told).
 */
export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const startedAt = performance.now();
  const { logger: givenLogger, clock, raft, ...configInput } = options;
  const temporaryDir = configInput.dataDir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'strata-broker-')) : undefined;
  try {
    const config = parseBrokerConfig({ ...configInput, listen: configInput.listen ?? EMBEDDED_LISTEN, dataDir: configInput.dataDir ?? temporaryDir });
    // Before any component opens a file there: an unusable directory fails here, in one line.
    prepareDataDir(config.dataDir);
    const logger = brokerLogger(givenLogger ?? createLogger({ level: 'warn', destination: process.stderr }), config.nodeId);
    const stats = new BrokerStats();
    const fetches = new FetchPurgatory(config.maxPendingFetches);
    const budget = new UnsentBytesBudget(config.maxUnsentBytes);
    const managerOptions = { dataDir: config.dataDir, nodeId: config.nodeId, defaultTopicConfigs: config.defaultTopicConfigs, logger, stats, ...(clock === undefined ? {} : { clock }) };
    const cluster =
      config.peers.length === 0
        ? undefined
        : await ClusterNode.open({
            dataDir: config.dataDir,
            nodeId: config.nodeId,
            peers: config.peers,
            raftTickMs: config.raftTickMs,
            raftHeartbeatTicks: config.raftHeartbeatTicks,
            metadataSnapshotRecords: config.metadataSnapshotRecords,
            defaultTopicConfigs: config.defaultTopicConfigs,
            offsetsTopicPartitions: config.offsetsTopicPartitions,
            transactionStateTopicPartitions: config.transactionStateTopicPartitions,
            logger,
            clock: clock ?? Date.now,
            stats,
          });
    let partitions: PartitionManager;
    try {
      partitions = cluster === undefined ? await PartitionManager.open(managerOptions) : PartitionManager.openClustered(managerOptions, cluster);
    } catch (error) {
      await cluster?.close();
      throw error;
    }
    partitions.subscribe(fetches);
    let groups: GroupCoordinator;
    try {
      groups = await GroupCoordinator.open({
        partitions,
        settings: {
          sessionTimeoutMsDefault: config.groupSessionTimeoutMs,
          sessionTimeoutMsMin: config.groupMinSessionTimeoutMs,
          sessionTimeoutMsMax: config.groupMaxSessionTimeoutMs,
          heartbeatIntervalMs: config.groupHeartbeatIntervalMs,
          maxMembers: config.groupMaxSize,
          offsetsTopicPartitions: config.offsetsTopicPartitions,
        },
        logger,
        ...(clock === undefined ? {} : { clock }),
      });
    } catch (error) {
      await partitions.close();
      await cluster?.close();
      throw error;
    }
    const producerIds = new ProducerIdManager(config.dataDir, config.nodeId);
    const markers = new PartitionMarkers({ partitions, groups, cluster, nodeId: config.nodeId, logger, clock: clock ?? Date.now });
    let transactions: TransactionCoordinator;
    try {
      transactions = await TransactionCoordinator.open({
        partitions,
        markers,
        settings: {
          transactionStateTopicPartitions: config.transactionStateTopicPartitions,
          transactionMaxTimeoutMs: config.transactionMaxTimeoutMs,
          transactionTimeoutCheckIntervalMs: config.transactionTimeoutCheckIntervalMs,
        },
        newProducerId: () => producerIds.nextProducerId(),
        logger,
        ...(clock === undefined ? {} : { clock }),
      });
    } catch (error) {
      groups.close();
      await partitions.close();
      await cluster?.close();
      throw error;
    }
    let shuttingDown = false;
    let server: Server | undefined;
    const services: BrokerServices = {
      nodeId: config.nodeId,
      partitions,
      fetches,
      groups,
      transactions,
      stats,
      producerIds,
      fetchMaxBytes: config.fetchMaxBytes,
      ...(cluster === undefined ? {} : { cluster, raft: cluster }),
      advertisedAddress: () => server?.address ?? config.listen,
      isShuttingDown: () => shuttingDown,
      ...(raft === undefined ? {} : { raft }),
    };
    try {
      server = await Server.listen({
        listen: config.listen,
        maxConnections: config.maxConnections,
        maxConnectionsPerIp: config.maxConnectionsPerIp,
        maxFrameBytes: config.maxFrameBytes,
        maxInFlightRequestsPerConnection: config.maxInFlightRequestsPerConnection,
        maxUnsentBytesPerConnection: config.maxUnsentBytesPerConnection,
        budget,
        connectionIdleMs: config.connectionIdleMs,
        firstRequestTimeoutMs: config.firstRequestTimeoutMs,
        requestReadTimeoutMs: config.requestReadTimeoutMs,
        services,
        stats,
        logger,
      });
    } catch (error) {
      transactions.close();
      await markers.close();
      groups.close();
      await partitions.close();
      await cluster?.close();
      throw error;
    }
    const listening = server;
    let http: HttpServer | undefined;
    if (config.http !== null) {
      try {
        http = await HttpServer.listen({
          listen: config.http,
          nodeId: config.nodeId,
          partitions,
          groups,
          transactions,
          stats,
          pendingFetches: () => fetches.pending,
          unsentBytes: () => budget.totalBytes,
          uptimeMs: () => performance.now() - startedAt,
          clusterStatus: () => cluster?.status() ?? standaloneStatus(config.nodeId, listening.address, http?.address, partitions),
          logger: logger.child({ component: 'http' }),
        });
      } catch (error) {
        fetches.close();
        transactions.close();
        await markers.close();
        groups.close();
        await listening.close(0);
        await partitions.close();
        await cluster?.close();
        throw error;
      }
    }
    cluster?.start(partitions, { address: listening.address, httpAddress: http?.address });
    partitions.startCleanup(config.logCleanupIntervalMs);
    logger.info({ address: listening.address, httpAddress: http?.address, dataDir: config.dataDir, topics: partitions.topics().length }, 'broker started');

    let closing: Promise<void> | undefined;
    const close = async (handOff: boolean): Promise<void> => {
      // In a cluster, leaderships move away first, while this broker still hears its peers.
      if (handOff) await Promise.all([partitions.handOffLeadership(), cluster?.handOffLeadership()]);
      shuttingDown = true;
      fetches.close();
      transactions.close();
      groups.close();
      await Promise.all([listening.close(config.shutdownGraceMs), http?.close()]);
      await markers.close();
      await partitions.close();
      await cluster?.close();
      if (temporaryDir !== undefined) fs.rmSync(temporaryDir, { recursive: true, force: true });
      logger.info('broker stopped');
    };
    return {
      config,
      nodeId: config.nodeId,
      dataDir: config.dataDir,
      address: listening.address,
      httpAddress: http?.address,
      stats,
      partitions,
      groups,
      transactions,
      cluster,
      logger,
      get pendingFetches() {
        return fetches.pending;
      },
      get unsentBytes() {
        return budget.totalBytes;
      },
      close: (options) => (closing ??= close(options?.handOff ?? true)),
    };
  } catch (error) {
    if (temporaryDir !== undefined) fs.rmSync(temporaryDir, { recursive: true, force: true });
    throw error;
  }
}

/** A standalone broker described as a one-node cluster that leads every partition (`GET /v1/cluster`). */
function standaloneStatus(nodeId: number, address: HostPort, httpAddress: HostPort | undefined, partitions: PartitionManager): ClusterStatus {
  return {
    nodeId,
    metadataLeader: nodeId,
    metadataTerm: 0,
    brokers: [{ nodeId, host: address.host, port: address.port, httpHost: httpAddress?.host ?? null, httpPort: httpAddress?.port ?? null }],
    partitions: partitions.allPartitions().map((p) => ({
      topic: p.topic,
      partition: p.index,
      replicas: [nodeId],
      leader: nodeId,
      leaderEpoch: p.leadership.leaderEpoch,
      isLeaderHere: true,
      highWatermark: p.highWatermark,
      logEndOffset: p.logEndOffset,
      followers: [],
    })),
  };
}
