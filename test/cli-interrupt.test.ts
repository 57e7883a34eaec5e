// Method: spawns the real `strata` command, waits for a condition that shows it is in the phase under
// test (a connection accepted by a server that never answers, a record printed, a record stored),
// sends ONE SIGINT and checks that the process ends promptly: 0 with its summary once it was working,
// 130 (or death by the signal) while it was still waiting for a broker.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { Client } from '../client/index.js';
import { cliTestBroker, lines } from './fixtures/strata-process.js';

const cli = cliTestBroker('cli-interrupt');
/** After the one SIGINT, the process must be gone within this long. */
const STOP_DEADLINE_MS = 5000;
/** How long a condition may take to hold (a tsx process starting on a loaded machine). */
const CONDITION_DEADLINE_MS = 30_000;

/** A server that accepts connections and never answers: a broker that is not there yet. */
const sockets = new Set<net.Socket>();
const silentServer = net.createServer((socket) => {
  sockets.add(socket);
  socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
});
let accepted = 0;
silentServer.on('connection', () => accepted++);
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => silentServer.close(() => resolve()));
});

async function silentPort(): Promise<number> {
  if (!silentServer.listening) await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
  return (silentServer.address() as net.AddressInfo).port;
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + CONDITION_DEADLINE_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Watched {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function watch(args: readonly string[], bootstrap: string): Watched {
  const child = cli.children.spawn([...args, '--bootstrap', bootstrap]);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Sends one SIGINT and resolves with how the process ended, failing if it outlives the deadline. */
async function interruptOnce(watched: Watched): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  watched.child.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${STOP_DEADLINE_MS} ms after one SIGINT; stderr: ${watched.stderr()}`)), STOP_DEADLINE_MS);
  });
  try {
    return await Promise.race([watched.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('one SIGINT stops a command', () => {
  it.each([
    ['consume', ['consume', 'orders']],
    ['consume --group', ['consume', 'orders', '--group', 'g1']],
  ])('%s waiting for a broker: exit 130 with one line', async (_name, args) => {
    const port = await silentPort();
    const before = accepted;
    const watched = watch(args, `127.0.0.1:${port}`);
    await until(() => accepted > before, 'the command to connect');
    const end = await interruptOnce(watched);
    expect(end.code, watched.stderr()).toBe(130);
    expect(lines(watched.stderr())).toEqual([expect.stringMatching(/^strata: interrupted while waiting for broker 127\.0\.0\.1:\d+$/)]);
  }, 60_000);

  it('topic list waiting for a broker: ends by the signal', async () => {
    const port = await silentPort();
    const before = accepted;
    const watched = watch(['topic', 'list'], `127.0.0.1:${port}`);
    await until(() => accepted > before, 'the command to connect');
    const end = await interruptOnce(watched);
    expect(end.code === 130 || end.signal === 'SIGINT', JSON.stringify(end)).toBe(true);
  }, 60_000);

  it.each([
    ['consume', [] as string[], /^consumed 1 records? from cli-int-c /],
    ['consume --group', ['--group', 'cli-int-g'], /^consumed 1 records? from cli-int-c .*; committed and left group cli-int-g$/],
  ])('%s following a topic: exit 0 with its summary', async (_name, extra, summary) => {
    const client = new Client({ brokers: [cli.bootstrap()] });
    try {
      // Both cases read the same topic: one record, stored by the first.
      if (await client.admin().createTopics({ topics: [{ topic: 'cli-int-c', numPartitions: 1 }] })) {
        await client.producer().send({ topic: 'cli-int-c', messages: [{ value: 'one' }] });
      }
    } finally {
      await client.close();
    }
    const watched = watch(['consume', 'cli-int-c', '--offset', 'earliest', ...extra], cli.bootstrap());
    await until(() => lines(watched.stdout()).length > 0, 'the record to be printed');
    const end = await interruptOnce(watched);
    expect(end.code, watched.stderr()).toBe(0);
    expect(lines(watched.stderr())).toEqual([expect.stringMatching(summary)]);
  }, 60_000);

  it('produce reading stdin: sends what it read, exit 0 with its summary', async () => {
    const client = new Client({ brokers: [cli.bootstrap()] });
    try {
      await client.admin().createTopics({ topics: [{ topic: 'cli-int-p', numPartitions: 1 }] });
      const watched = watch(['produce', 'cli-int-p'], cli.bootstrap());
      watched.child.stdin.write('one\n');
      await until(() => highWatermark('cli-int-p') === 1, 'the record to be stored');
      const end = await interruptOnce(watched);
      expect(end.code, watched.stderr()).toBe(0);
      expect(lines(watched.stderr())).toEqual([expect.stringMatching(/^produced 1 records? to cli-int-p /)]);
    } finally {
      await client.close();
    }
  }, 60_000);
});

function highWatermark(topic: string): number {
  return Number(cli.broker().partitions.partition(topic, 0)?.highWatermark ?? -1);
}
