/**
 * The dashboard's live feed, `GET /v1/events`: server-sent events, one `snapshot` event (the JSON of
 * `DashboardSnapshot`) as soon as a page connects and then every `intervalMs` (1 s) while any page
 * is connected. A snapshot that could not be built is sent as a `problem` event (`{ message }`), so
 * the page can say so and keep its last picture. Nothing runs while no page is connected.
 *
 * One build serves every subscriber, and builds never overlap: a tick that finds the previous build
 * still running (a slow peer) is skipped. `closeAll()` ends every stream (the broker is shutting
 * down; the fastify `preClose` hook calls it, so `close()` does not wait on endless responses) and
 * refuses new subscribers after it.
 *
 * Concurrency: one thread; writes to a response that went away are dropped with it.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import type { DashboardSnapshot } from './cluster-snapshot.js';
import type { SamplerTimers } from './traffic-sampler.js';

export const SNAPSHOT_INTERVAL_MS = 1000;
/** How long a browser waits before reconnecting after the stream broke (the SSE `retry` field). */
export const RECONNECT_DELAY_MS = 2000;
/** Streams open at once at most; a page beyond it gets 503 and retries. */
export const SUBSCRIBERS_MAX = 64;

export interface SnapshotStreamOptions {
  readonly build: () => Promise<DashboardSnapshot>;
  readonly timers: SamplerTimers;
  readonly logger: Logger;
  readonly intervalMs?: number;
}

export class SnapshotStream {
  private readonly options: SnapshotStreamOptions;
  private readonly subscribers = new Set<ServerResponse>();
  private stopTimer: (() => void) | undefined;
  private building: Promise<void> | undefined;
  private closed = false;

  constructor(options: SnapshotStreamOptions) {
    this.options = options;
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Whether another page may subscribe now. */
  get accepting(): boolean {
    return !this.closed && this.subscribers.size < SUBSCRIBERS_MAX;
  }

  /** Takes over `response` (headers not yet sent) as an event stream until the client leaves or `closeAll()`. */
  subscribe(response: ServerResponse): void {
    if (!this.accepting) throw new Error('the snapshot stream is not accepting subscribers');
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    response.write(`retry: ${RECONNECT_DELAY_MS}\n\n`);
    this.subscribers.add(response);
    response.on('close', () => {
      this.subscribers.delete(response);
      if (this.subscribers.size === 0) this.stop();
    });
    this.stopTimer ??= this.options.timers.every(this.options.intervalMs ?? SNAPSHOT_INTERVAL_MS, () => void this.tick());
    void this.tick();
  }

  /** Ends every stream and stops; later subscribers are refused. */
  closeAll(): void {
    this.closed = true;
    this.stop();
    for (const response of this.subscribers) response.end();
    this.subscribers.clear();
  }

  private stop(): void {
    this.stopTimer?.();
    this.stopTimer = undefined;
  }

  /** One build for every subscriber; skipped while the previous one runs. */
  private tick(): Promise<void> {
    this.building ??= this.options
      .build()
      .then(
        (snapshot) => this.send('snapshot', snapshot),
        (error: unknown) => {
          this.options.logger.warn({ err: error }, 'dashboard snapshot failed');
          this.send('problem', { message: `broker could not build the dashboard: ${(error as Error).message}` });
        },
      )
      .finally(() => {
        this.building = undefined;
      });
    return this.building;
  }

  private send(event: string, data: unknown): void {
    if (this.closed) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const response of this.subscribers) if (!response.writableEnded) response.write(frame);
  }
}
