// Method: starts a broker in-process on a free port and runs the real `strata perf produce` (broker/cli.ts
// through tsx) as a child process: the flags --throughput, --batch-size and --linger-ms are parsed and
// checked (and --warmup-records), and a paced run cannot finish before its last record is due (a bound that cannot flake),
// nor take unreasonably longer (a generous sanity bound: the test checks pacing, not speed).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';

const entry = path.resolve(import.meta.dirname, '..', 'broker', 'cli.ts');
let broker: Broker;
let dataDir: string;
let bootstrap: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-cli-perf-'));
  broker = await startBroker({ dataDir, listen: { host: '127.0.0.1', port: 0 }, http: null, shutdownGraceMs: 200, logger: silentLogger() });
  bootstrap = `${broker.address.host}:${broker.address.port}`;
});

afterAll(async () => {
  await broker?.close();
  if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

function strata(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      env: { ...process.env, STRATA_BOOTSTRAP: bootstrap },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, elapsedMs: 0 }));
  });
}

/** The run's own elapsed time, from its summary line. */
function reportedSeconds(stdout: string): number {
  const match = / in ([\d.]+) s: /.exec(stdout);
  expect(match, stdout).not.toBeNull();
  return Number(match![1]);
}

function expectUsageError(run: Run, pattern: RegExp): void {
  expect(run.status, run.stderr).toBe(1);
  expect(run.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
  expect(run.stderr).toMatch(pattern);
}

describe('strata perf produce --throughput, --batch-size, --linger-ms', () => {
  it('rejects bad values and flags that do not apply to perf consume', async () => {
    const base = ['perf', 'produce', '--topic', 'perf-flags', '--records', '10', '--record-size', '10'];
    const runs = await Promise.all([
      strata([...base, '--throughput', '0']),
      strata([...base, '--throughput', '1.5']),
      strata([...base, '--batch-size', '0']),
      strata([...base, '--batch-size', String(64 * 1024 * 1024 + 1)]),
      strata([...base, '--linger-ms=-1']),
      strata([...base, '--linger-ms', '60001']),
      strata(['perf', 'consume', '--topic', 'perf-flags', '--records', '10', '--throughput', '100']),
      strata(['perf', 'consume', '--topic', 'perf-flags', '--records', '10', '--batch-size', '100']),
      strata([...base, '--warmup-records', '10']),
    ]);
    expectUsageError(runs[0]!, /^strata: --throughput must be an integer from 1 to /);
    expectUsageError(runs[1]!, /^strata: --throughput must be an integer/);
    expectUsageError(runs[2]!, /^strata: --batch-size must be an integer from 1 to 67108864, got '0'/);
    expectUsageError(runs[3]!, /^strata: --batch-size must be an integer from 1 to 67108864/);
    expectUsageError(runs[4]!, /^strata: --linger-ms must be an integer from 0 to 60000, got '-1'/);
    expectUsageError(runs[5]!, /^strata: --linger-ms must be an integer from 0 to 60000/);
    expectUsageError(runs[6]!, /^strata: --throughput does not apply to perf consume/);
    expectUsageError(runs[7]!, /^strata: --batch-size does not apply to perf consume/);
    expectUsageError(runs[8]!, /^strata: --warmup-records must be an integer from 0 to 9, got '10'/);
  });

  it('paces a run at --throughput records per second and names its settings', async () => {
    const admin = await strata(['topic', 'create', 'perf-paced', '--partitions', '2', '--config', 'flush.policy=never']);
    expect(admin.status, admin.stderr).toBe(0);
    // 300 records at 500/s: the last record is due 299/500 = 0.598 s after the start, so the run
    // cannot end sooner; 20 s would mean the pacing is broken, not that the machine is slow.
    const paced = await strata(['perf', 'produce', '--topic', 'perf-paced', '--records', '300', '--record-size', '100', '--acks', '1', '--throughput', '500', '--batch-size', '32768', '--linger-ms', '1']);
    expect(paced.status, paced.stderr).toBe(0);
    expect(paced.stdout).toMatch(/^perf produce: 300 records of 100 B to perf-paced \(acks=1, none, throughput=500\/s, batch-size=32768, linger-ms=1\) in [\d.]+ s: /);
    const seconds = reportedSeconds(paced.stdout);
    expect(seconds).toBeGreaterThanOrEqual(0.59);
    expect(seconds).toBeLessThan(20);

    const unpaced = await strata(['perf', 'produce', '--topic', 'perf-paced', '--records', '3000', '--record-size', '100', '--acks', '1', '--batch-size', '1024']);
    expect(unpaced.status, unpaced.stderr).toBe(0);
    expect(unpaced.stdout).toMatch(/^perf produce: 3000 records of 100 B to perf-paced \(acks=1, none, batch-size=1024\) in /);
    // A warm-up is sent but left out of the summary, whose clock starts at the first measured record.
    const warm = await strata(['perf', 'produce', '--topic', 'perf-paced', '--records', '400', '--record-size', '100', '--acks', '1', '--throughput', '1000', '--warmup-records', '100']);
    expect(warm.status, warm.stderr).toBe(0);
    expect(warm.stdout).toMatch(/^perf produce: 300 records of 100 B to perf-paced \(acks=1, none, throughput=1000\/s, after 100 warm-up records\) in /);
    expect(reportedSeconds(warm.stdout)).toBeGreaterThanOrEqual(0.29); // records 100..399 are due from 0.1 s to 0.399 s
    const consumed = await strata(['perf', 'consume', '--topic', 'perf-paced', '--records', '3700']);
    expect(consumed.status, consumed.stderr).toBe(0);
  });
});
