/**
 * The broker's HTTP listener (fastify) on the config's `http` address: the admin REST API, health and
 * Prometheus metrics. JSON in and out; errors answer `{ error: { code, name, message } }` with the
 * wire protocol's error table, so the HTTP API and the protocol speak of failures in one vocabulary.
 *
 * | route | answer |
 * |---|---|
 * | `GET /v1/health` | 200 `{ status: 'ok', nodeId, uptimeMs }` |
 * | `GET /v1/topics` | 200 `{ topics: [{ name, topicId, partitions, configs }] }`, by name |
 * | `POST /v1/topics` | body `{ name, partitions? = 1, replicationFactor? = the broker's default, configs? }` → 201 the topic; 400 / 409 |
 * | `GET /v1/topics/:name` | 200 `{ name, topicId, configs, partitions: [{ partition, leader, leaderEpoch, replicas, isr, logStartOffset, highWatermark, logEndOffset, sizeBytes, status ('online' or 'failed'), uncleanable }] }`; 404 |
 * | `DELETE /v1/topics/:name` | 204; 404 |
 * | `GET /v1/groups` | 200 `{ groups: [{ groupId, state, members }] }`: the groups this broker coordinates, by id |
 * | `GET /v1/groups/:id` | 200 `{ groupId, state, members, partitions: [{ topic, partition, member, committedOffset, logEndOffset, lag }] }` (`group/group-lag.ts`); 404 GROUP_ID_NOT_FOUND |
 * | `GET /v1/cluster` | 200 `{ nodeId, metadataLeader, metadataTerm, brokers: [{ nodeId, host, port, httpHost, httpPort }], partitions: [{ topic, partition, replicas, leader, leaderEpoch, isLeaderHere, highWatermark, logEndOffset, followers: [{ nodeId, matchEnd, lag }] }] }`: this broker's view (`followers` filled where it leads); a standalone broker answers as a one-node cluster |
 * | `GET /metrics` | 200 Prometheus text 0.0.4 (`broker-metrics.ts`) |
 * | `GET /`, `GET /v1/events`, `GET /v1/dashboard…`, `GET /v1/topics/:name/partitions/:p/records` | the dashboard (`dashboard/routes.ts`) |
 *
 * Topic creation and deletion go through the same `PartitionManager` calls as the CreateTopics and
 * DeleteTopics handlers, so the name rule, partition and replication checks and topic configs are
 * checked in one place; the body's shape (types, no unknown keys) is checked by a JSON schema first,
 * and a shape error is INVALID_REQUEST. Error name → status: UNKNOWN_TOPIC_OR_PARTITION and GROUP_ID_NOT_FOUND 404,
 * TOPIC_ALREADY_EXISTS 409, the INVALID_* codes 400, another retriable error 503, anything else 500.
 *
 * Requests are not logged (debug level would flood on scrapes); failures that are bugs are logged at
 * error level with their code by `errorResult`. `close()` stops accepting, lets requests in flight
 * finish and closes idle keep-alive connections (fastify's `forceCloseConnections: 'idle'`).
 */
import net from 'node:net';
import { fastify, LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { ERRORS, errorByCode, StrataError, type ErrorName } from '../client/protocol/index.js';
import { explainListenError } from './address-in-use.js';
import { registerDashboard } from './dashboard/routes.js';
import { BrokerMetrics } from './broker-metrics.js';
import type { TransactionCoordinator } from './txn/transaction-coordinator.js';
import type { BrokerStats } from './broker-stats.js';
import type { ClusterStatus } from './cluster/cluster-node.js';
import type { GroupCoordinator } from './group/group-coordinator.js';
import type { HostPort } from './config.js';
import { errorResult } from './error-result.js';
import type { Logger } from './logger.js';
import type { PartitionManager } from './partition-manager.js';
import type { TopicMetadata } from './topic-store.js';

/** Largest request body accepted (a topic creation is a few hundred bytes). */
export const HTTP_BODY_LIMIT_BYTES = 64 * 1024;

export interface HttpServerOptions {
  readonly listen: HostPort;
  readonly nodeId: number;
  readonly partitions: PartitionManager;
  readonly groups: GroupCoordinator;
  readonly transactions: TransactionCoordinator;
  readonly stats: BrokerStats;
  readonly pendingFetches: () => number;
  /** Answer bytes clients have not taken yet, across connections (`/metrics`). */
  readonly unsentBytes: () => number;
  /** Milliseconds since the broker started. */
  readonly uptimeMs: () => number;
  /** This broker's view of its cluster (`GET /v1/cluster`); a standalone broker is a cluster of one. */
  readonly clusterStatus: () => ClusterStatus;
  readonly logger: Logger;
}

export interface HttpError {
  readonly error: { readonly code: number; readonly name: string; readonly message: string };
}

interface CreateTopicBody {
  name: string;
  partitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

const CREATE_TOPIC_BODY_SCHEMA = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    partitions: { type: 'integer' },
    replicationFactor: { type: 'integer' },
    configs: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

const STATUS_BY_ERROR: Partial<Record<ErrorName, number>> = {
  UNKNOWN_TOPIC_OR_PARTITION: 404,
  GROUP_ID_NOT_FOUND: 404,
  TOPIC_ALREADY_EXISTS: 409,
  INVALID_TOPIC_EXCEPTION: 400,
  INVALID_PARTITIONS: 400,
  INVALID_REPLICATION_FACTOR: 400,
  INVALID_CONFIG: 400,
  INVALID_REQUEST: 400,
};

/** The HTTP status and body of an error answer with the given wire code. */
export function httpError(errorCode: number, message: string): { status: number; body: HttpError } {
  const info = errorByCode(errorCode) ?? ERRORS.UNKNOWN_SERVER_ERROR;
  const status = STATUS_BY_ERROR[info.name as ErrorName] ?? (info.retriable ? 503 : 500);
  return { status, body: { error: { code: info.code, name: info.name, message } } };
}

function topicSummary(topic: TopicMetadata) {
  return { name: topic.name, topicId: topic.topicId, partitions: topic.partitions, configs: topic.configs };
}

export class HttpServer {
  private readonly app: FastifyInstance;
  private boundAddress: HostPort | undefined;
  private closing: Promise<void> | undefined;

  private constructor(app: FastifyInstance) {
    this.app = app;
  }

  /** Binds the listener; resolves once it serves requests. */
  static async listen(options: HttpServerOptions): Promise<HttpServer> {
    const app = fastify({
      // pino's Logger is a FastifyBaseLogger; the cast keeps fastify's instance type the default one.
      loggerInstance: options.logger as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: HTTP_BODY_LIMIT_BYTES,
      forceCloseConnections: 'idle',
      // Reject what the schema does not describe instead of fastify's defaults (drop unknown keys,
      // coerce "3" to 3).
      ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    });
    routes(app, options);
    const server = new HttpServer(app);
    try {
      await app.listen({ host: options.listen.host, port: options.listen.port });
    } catch (error) {
      await app.close();
      throw explainListenError(error, options.listen, 'http port');
    }
    const address = app.server.address() as net.AddressInfo;
    server.boundAddress = Object.freeze({ host: options.listen.host, port: address.port });
    return server;
  }

  /** The address the listener is bound to (the real port when 0 was asked for). */
  get address(): HostPort {
    return this.boundAddress as HostPort;
  }

  /** Stops accepting, finishes requests in flight. Safe to call more than once. */
  close(): Promise<void> {
    return (this.closing ??= this.app.close());
  }
}

function sendError(reply: FastifyReply, errorCode: number, message: string): FastifyReply {
  const { status, body } = httpError(errorCode, message);
  return reply.code(status).send(body);
}

function routes(app: FastifyInstance, options: HttpServerOptions): void {
  const { partitions, logger } = options;

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    // Fastify's own 4xx (schema, JSON syntax, media type, body size) are malformed requests.
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: { code: ERRORS.INVALID_REQUEST.code, name: ERRORS.INVALID_REQUEST.name, message: error.message } });
    }
    const { errorCode, errorMessage } = errorResult(error, logger, 'http request');
    return sendError(reply, errorCode, errorMessage);
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: ERRORS.INVALID_REQUEST.code, name: ERRORS.INVALID_REQUEST.name, message: `no route ${request.method} ${request.url}` } }),
  );

  app.get('/v1/cluster', async () => options.clusterStatus());

  app.get('/v1/health', async () => ({ status: 'ok', nodeId: options.nodeId, uptimeMs: Math.round(options.uptimeMs()) }));

  app.get('/v1/topics', async () => ({
    topics: partitions
      .topics()
      .map(topicSummary)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  }));

  app.post<{ Body: CreateTopicBody }>('/v1/topics', { schema: { body: CREATE_TOPIC_BODY_SCHEMA } }, async (request, reply) => {
    const body = request.body;
    try {
      const topic = await partitions.createTopic({
        name: body.name,
        partitions: body.partitions ?? 1,
        replicationFactor: body.replicationFactor ?? -1,
        configs: body.configs ?? {},
      });
      return reply.code(201).send(topicSummary(topic));
    } catch (error) {
      const { errorCode, errorMessage } = errorResult(error, logger.child({ topic: body.name }), 'create topic');
      return sendError(reply, errorCode, errorMessage);
    }
  });

  app.get<{ Params: { name: string } }>('/v1/topics/:name', async (request, reply) => {
    const { name } = request.params;
    const topic = partitions.topic(name);
    if (topic === undefined) return sendError(reply, ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code, new StrataError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`).message);
    return {
      name: topic.name,
      topicId: topic.topicId,
      configs: topic.configs,
      partitions: partitions.partitionsOf(name).map((partition) => {
        const { leaderId, leaderEpoch, replicas, isr } = partition.leadership;
        return {
          partition: partition.index,
          leader: leaderId,
          leaderEpoch,
          replicas: [...replicas],
          isr: [...isr],
          logStartOffset: partition.logStartOffset,
          highWatermark: partition.highWatermark,
          logEndOffset: partition.logEndOffset,
          sizeBytes: partition.log.sizeBytes,
          status: partition.isFailed ? 'failed' : 'online',
          uncleanable: partition.log.uncleanable !== undefined,
        };
      }),
    };
  });

  app.delete<{ Params: { name: string } }>('/v1/topics/:name', async (request, reply) => {
    const { name } = request.params;
    try {
      await partitions.deleteTopic(name);
      return reply.code(204).send();
    } catch (error) {
      const { errorCode, errorMessage } = errorResult(error, logger.child({ topic: name }), 'delete topic');
      return sendError(reply, errorCode, errorMessage);
    }
  });

  app.get('/v1/groups', async () => ({
    groups: options.groups.listGroups(),
  }));

  app.get<{ Params: { id: string } }>('/v1/groups/:id', async (request, reply) => {
    const [group] = options.groups.lag(request.params.id);
    if (group === undefined) return sendError(reply, ERRORS.GROUP_ID_NOT_FOUND.code, new StrataError('GROUP_ID_NOT_FOUND', `'${request.params.id}'.`).message);
    return group;
  });

  registerDashboard(app, options);

  const metrics = new BrokerMetrics(options);
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.contentType).send(text);
  });
}
