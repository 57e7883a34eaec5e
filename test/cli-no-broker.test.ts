// Method: runs the real `strata` client commands as child processes against a port nothing listens
// on (bound to port 0, then closed) and checks that each fails within its --timeout-ms (plus the
// start-up time of a tsx process) with one line on stderr naming the address, and a non-zero exit.
import http from 'node:http';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ChildProcesses, expectOneLineError, runStrata } from './fixtures/strata-process.js';

const children = new ChildProcesses();
afterAll(() => children.killAll());

/** A port that was free a moment ago and that nothing listens on now. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const WAIT_MS = 1500;
/**
 * Starting node with tsx on a loaded machine (2 cores shared with the rest of the suite); the
 * command's own wait comes on top. Still well below the 30 s default a lost --timeout-ms would wait.
 */
const START_SLACK_MS = 20_000;
/** Commands started at once: nine tsx processes together starve each other on 2 cores. */
const WAVE = 3;

describe('strata without a broker', () => {
  it('every client command fails within --timeout-ms, naming the broker it could not reach', async () => {
    const port = await closedPort();
    const commands = [
      ['topic', 'list'],
      ['topic', 'describe', 'orders'],
      ['produce', 'orders'],
      ['perf', 'produce', '--topic', 'orders', '--records', '10', '--record-size', '10'],
      ['perf', 'consume', '--topic', 'orders', '--records', '10'],
      ['consume', 'orders'],
      ['consume', 'orders', '--group', 'g1'],
      ['group', 'list'],
      ['group', 'describe', 'g1'],
      ['topic', 'create', 'orders'],
      ['topic', 'delete', 'orders'],
      ['group', 'delete', 'g1'],
      ['group', 'reset-offsets', 'g1', '--topic', 'orders', '--to-earliest'],
    ];
    const runs = [];
    for (let i = 0; i < commands.length; i += WAVE) {
      const wave = await Promise.all(
        commands.slice(i, i + WAVE).map(async (args) => {
          const startedMs = performance.now();
          const run = await runStrata(children, port, [...args, '--timeout-ms', String(WAIT_MS)], 'a\nb\n');
          return { args, run, elapsedMs: performance.now() - startedMs };
        }),
      );
      runs.push(...wave);
    }
    for (const { args, run, elapsedMs } of runs) {
      expectOneLineError(run, new RegExp(`^strata: cannot reach broker 127\\.0\\.0\\.1:${port} within ${WAIT_MS} ms \\(connect ECONNREFUSED`));
      expect(elapsedMs, args.join(' ')).toBeLessThan(WAIT_MS + START_SLACK_MS);
    }
  }, 180_000);

  it('cluster status fails within --timeout-ms when the HTTP listener accepts and never answers, naming it', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const startedMs = performance.now();
      const run = await runStrata(children, port, ['cluster', 'status', '--http', `127.0.0.1:${port}`, '--timeout-ms', String(WAIT_MS)]);
      expectOneLineError(run, new RegExp(`^strata: no broker answered GET /v1/cluster: 127\\.0\\.0\\.1:${port}: no answer within ${WAIT_MS} ms\n$`));
      expect(performance.now() - startedMs).toBeLessThan(WAIT_MS + START_SLACK_MS);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  }, 60_000);
});
