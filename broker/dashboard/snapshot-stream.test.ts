// Method: a hand-driven timer and fake responses (recording what is written) around SnapshotStream:
// a subscriber gets the retry field and a snapshot at once, then one per tick; a failed build is a
// `problem` event; builds never overlap; the timer runs only while someone listens; closeAll ends
// every stream and refuses later ones.
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import type { DashboardSnapshot } from './cluster-snapshot.js';
import { SnapshotStream, SUBSCRIBERS_MAX } from './snapshot-stream.js';
import type { SamplerTimers } from './traffic-sampler.js';

class FakeResponse extends EventEmitter {
  status = 0;
  headers: Record<string, string> = {};
  written = '';
  writableEnded = false;
  writeHead(status: number, headers: Record<string, string>) {
    this.status = status;
    this.headers = headers;
    return this;
  }
  write(chunk: string) {
    this.written += chunk;
    return true;
  }
  end() {
    this.writableEnded = true;
    this.emit('close');
    return this;
  }
  events(): string[] {
    return [...this.written.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]!);
  }
}

function harness(build: () => Promise<DashboardSnapshot>) {
  const ticks = new Set<() => void>();
  const timers: SamplerTimers = {
    now: () => 0,
    every(_ms, tick) {
      ticks.add(tick);
      return () => ticks.delete(tick);
    },
  };
  const stream = new SnapshotStream({ build, timers, logger: silentLogger() });
  const subscribe = () => {
    const response = new FakeResponse();
    stream.subscribe(response as unknown as ServerResponse);
    return response;
  };
  const tick = async () => {
    for (const t of ticks) t();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { stream, subscribe, tick, ticks };
}

const SNAPSHOT = { servedBy: 1, generatedAtMs: 0, metadataLeader: 1, metadataTerm: 1, brokers: [], topics: [], groups: [] } satisfies DashboardSnapshot;

describe('SnapshotStream', () => {
  it('sends a snapshot at once and on every tick, only while someone listens', async () => {
    let builds = 0;
    const { subscribe, tick, ticks } = harness(async () => ({ ...SNAPSHOT, generatedAtMs: ++builds }));
    const page = subscribe();
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await new Promise((resolve) => setImmediate(resolve)); // the first build, started by subscribe
    await tick();
    expect(page.written.startsWith('retry: 2000\n\n')).toBe(true);
    expect(page.events()).toEqual(['snapshot', 'snapshot']);
    expect(page.written).toContain(`data: ${JSON.stringify({ ...SNAPSHOT, generatedAtMs: 2 })}\n\n`);
    page.emit('close');
    expect(ticks.size).toBe(0);
  });

  it('sends a problem when a build fails, and never runs two builds at once', async () => {
    let release: () => void = () => undefined;
    let builds = 0;
    const { subscribe, tick } = harness(() => {
      builds++;
      return new Promise((_resolve, reject) => (release = () => reject(new Error('disk on fire'))));
    });
    const page = subscribe();
    await tick();
    await tick();
    expect(builds).toBe(1);
    release();
    await tick();
    expect(page.events()).toEqual(['problem']);
    expect(page.written).toContain('broker could not build the dashboard: disk on fire');
  });

  it('ends every stream on closeAll and refuses later subscribers', async () => {
    const { stream, subscribe, ticks } = harness(async () => SNAPSHOT);
    const pages = Array.from({ length: SUBSCRIBERS_MAX }, subscribe);
    expect(stream.accepting).toBe(false);
    stream.closeAll();
    expect(pages.every((p) => p.writableEnded)).toBe(true);
    expect(stream.size).toBe(0);
    expect(ticks.size).toBe(0);
    expect(() => subscribe()).toThrow(/not accepting/);
  });
});
