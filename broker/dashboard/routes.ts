/**
 * The dashboard's HTTP routes, registered on the broker's fastify listener by `http-server.ts`:
 *
 * | route | answer |
 * |---|---|
 * | `GET /` | the dashboard page (`assets/index.html`), which loads `/dashboard/dashboard.css` and `/dashboard/dashboard.js` |
 * | `GET /v1/events` | server-sent events: a `snapshot` (`cluster-snapshot.ts`) every second while connected (`snapshot-stream.ts`) |
 * | `GET /v1/dashboard` | 200 the same snapshot, once |
 * | `GET /v1/dashboard/broker` | 200 this broker's own view (`broker-view.ts`), what the serving broker asks its peers |
 * | `GET /v1/topics/:topic/partitions/:p/records?offset=\|timestamp=&limit=` | 200 a page of records (`record-browser.ts`); 400 INVALID_REQUEST; 404 UNKNOWN_TOPIC_OR_PARTITION |
 *
 * Records are read from this broker's replica when it hosts the partition; otherwise the request is
 * forwarded once (marked by the `x-strata-forwarded` header) to the partition's replicas in turn,
 * so a page served by any broker can browse any partition; when none answers, 503
 * LEADER_NOT_AVAILABLE naming why.
 *
 * Lifecycle: the traffic sampler starts with the routes and stops in fastify's `onClose`; open event
 * streams and peer requests are ended in `preClose`, before fastify waits for requests in flight.
 *
 * The page's files are plain HTML, CSS and JavaScript (no build step). tsc does not copy them to
 * `dist/`, so from `dist/broker/dashboard/` they are read from the package's `broker/dashboard/assets/`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ERRORS, StrataError } from '../../client/protocol/index.js';
import { errorResult } from '../error-result.js';
import { httpError } from '../http-server.js';
import type { Logger } from '../logger.js';
import { collectBrokerView, readTraffic, type DashboardSources } from './broker-view.js';
import { askPeer, mergeSnapshot, PEER_ANSWER_TIMEOUT_MS, type DashboardSnapshot, type PeerAnswer, type RegisteredBroker } from './cluster-snapshot.js';
import { parsePartitionParam, parseRecordsQuery, readRecordsPage } from './record-browser.js';
import { SnapshotStream, SUBSCRIBERS_MAX } from './snapshot-stream.js';
import { REAL_TIMERS, TrafficSampler, type SamplerTimers } from './traffic-sampler.js';

export interface DashboardOptions extends DashboardSources {
  readonly logger: Logger;
  /** Clock and timers of the sampler and the event stream; real ones by default. */
  readonly timers?: SamplerTimers;
}

const FORWARDED_HEADER = 'x-strata-forwarded';

const ASSETS = [
  { route: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { route: '/dashboard/dashboard.css', file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  { route: '/dashboard/dashboard.js', file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
] as const;

/** The folder holding the page's files, from the source tree or from `dist/`. */
export function dashboardAssetsDir(moduleUrl: string = import.meta.url): string {
  const here = path.dirname(fileURLToPath(moduleUrl));
  const candidates = [path.join(here, 'assets'), path.resolve(here, '..', '..', '..', 'broker', 'dashboard', 'assets')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html')));
  if (found === undefined) throw new Error(`the dashboard's files are missing: looked in ${candidates.join(' and ')}`);
  return found;
}

function sendError(reply: FastifyReply, errorCode: number, message: string): FastifyReply {
  const { status, body } = httpError(errorCode, message);
  return reply.code(status).send(body);
}

export function registerDashboard(app: FastifyInstance, options: DashboardOptions): void {
  const { partitions, logger } = options;
  const timers = options.timers ?? REAL_TIMERS;
  const dir = dashboardAssetsDir();
  const assets = ASSETS.map((asset) => ({ ...asset, body: fs.readFileSync(path.join(dir, asset.file)) }));
  const sampler = new TrafficSampler({ read: () => readTraffic(options), timers });
  const closing = new AbortController();

  const buildSnapshot = async (): Promise<DashboardSnapshot> => {
    const status = options.clusterStatus();
    const registered: RegisteredBroker[] = status.brokers.some((b) => b.nodeId === options.nodeId)
      ? status.brokers
      : [...status.brokers, { nodeId: options.nodeId, host: '?', port: 0, httpHost: null, httpPort: null }];
    const answers = new Map<number, PeerAnswer>();
    await Promise.all(
      registered.map(async (b) => {
        if (b.nodeId === options.nodeId) answers.set(b.nodeId, { view: await collectBrokerView(options, sampler) });
        else if (b.httpHost !== null && b.httpPort !== null) answers.set(b.nodeId, await askPeer(`${b.httpHost}:${b.httpPort}`, b.nodeId, closing.signal));
      }),
    );
    const topics = partitions.topics().map((t) => ({
      name: t.name,
      replicas: partitions.replicasOf(t.name) ?? Array.from({ length: t.partitions }, () => [options.nodeId]),
    }));
    return mergeSnapshot({ servedBy: options.nodeId, generatedAtMs: timers.now(), brokers: registered, topics, answers });
  };
  const stream = new SnapshotStream({ build: buildSnapshot, timers, logger });

  sampler.start();
  app.addHook('preClose', (done) => {
    closing.abort();
    stream.closeAll();
    done();
  });
  app.addHook('onClose', (_app, done) => {
    sampler.close();
    done();
  });

  for (const asset of assets) {
    app.get(asset.route, async (_request, reply) => reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body));
  }

  app.get('/v1/dashboard', async () => buildSnapshot());

  app.get('/v1/dashboard/broker', async () => collectBrokerView(options, sampler));

  app.get('/v1/events', async (_request, reply) => {
    if (closing.signal.aborted) return sendError(reply, ERRORS.BROKER_SHUTTING_DOWN.code, 'the broker is shutting down');
    if (!stream.accepting) return sendError(reply, ERRORS.TOO_MANY_CONNECTIONS.code, `${SUBSCRIBERS_MAX} dashboard streams are open already`);
    reply.hijack();
    stream.subscribe(reply.raw);
    return reply;
  });

  app.get<{ Params: { topic: string; p: string }; Querystring: Record<string, unknown> }>('/v1/topics/:topic/partitions/:p/records', async (request, reply) => {
    const { topic: name } = request.params;
    try {
      const query = parseRecordsQuery(request.query);
      const index = parsePartitionParam(request.params.p);
      const topic = partitions.topic(name);
      if (topic === undefined) throw new StrataError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`);
      if (index >= topic.partitions) throw new StrataError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' has ${topic.partitions} partitions (0 to ${topic.partitions - 1}), not ${index}`);
      const local = partitions.partition(name, index);
      if (local !== undefined && !local.isRemoved) return await readRecordsPage(local, query);
      if (request.headers[FORWARDED_HEADER] !== undefined) throw new StrataError('NOT_LEADER_OR_FOLLOWER', `broker ${options.nodeId} does not host ${name}-${index}`);
      const replicas = partitions.replicasOf(name)?.[index] ?? [];
      const brokers = options.clusterStatus().brokers;
      const problems: string[] = [];
      for (const nodeId of replicas) {
        const broker = brokers.find((b) => b.nodeId === nodeId);
        if (broker?.httpHost == null || broker.httpPort === null) {
          problems.push(`broker ${nodeId} has no HTTP listener`);
          continue;
        }
        const url = `http://${broker.httpHost}:${broker.httpPort}${request.url}`;
        try {
          const answer = await fetch(url, { headers: { [FORWARDED_HEADER]: String(options.nodeId) }, signal: AbortSignal.any([closing.signal, AbortSignal.timeout(PEER_ANSWER_TIMEOUT_MS)]) });
          if (answer.status === 503) {
            problems.push(`broker ${nodeId} answered 503`);
            continue;
          }
          return reply.code(answer.status).type('application/json; charset=utf-8').send(await answer.text());
        } catch (error) {
          problems.push(`broker ${nodeId}: ${(error as Error).name === 'TimeoutError' ? 'no answer' : 'unreachable'}`);
        }
      }
      throw new StrataError('LEADER_NOT_AVAILABLE', `no replica of ${name}-${index} could be read (${problems.join('; ') || 'no replicas known'})`);
    } catch (error) {
      const { errorCode, errorMessage } = errorResult(error, logger.child({ topic: name }), 'browse records');
      return sendError(reply, errorCode, errorMessage);
    }
  });
}
