// Method: starts a broker in-process on a free port and runs the real `strata perf produce` (broker/cli.ts
// through tsx) as a child process: the flags --throughput, --batch-size and --linger-ms are parsed and
// checked (and --warmup-records), and a paced run cannot finish before its last record is due (a bound that cannot flake),
// nor take unreasonably longer (a generous sanity bound: the test checks pacing, not speed).
import { describe, expect, it } from 'vitest';
import { cliTestBroker, expectOneLineError } from './fixtures/strata-process.js';

const cli = cliTestBroker('cli-perf');
const strata = cli.strata;

/** The run's own elapsed time, from its summary line. */
function reportedSeconds(stdout: string): number {
  const match = / in ([\d.]+) s: /.exec(stdout);
  expect(match, stdout).not.toBeNull();
  return Number(match![1]);
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
    expectOneLineError(runs[0]!, /^strata: --throughput must be an integer from 1 to /);
    expectOneLineError(runs[1]!, /^strata: --throughput must be an integer/);
    expectOneLineError(runs[2]!, /^strata: --batch-size must be an integer from 1 to 67108864, got '0'/);
    expectOneLineError(runs[3]!, /^strata: --batch-size must be an integer from 1 to 67108864/);
    expectOneLineError(runs[4]!, /^strata: --linger-ms must be an integer from 0 to 60000, got '-1'/);
    expectOneLineError(runs[5]!, /^strata: --linger-ms must be an integer from 0 to 60000/);
    expectOneLineError(runs[6]!, /^strata: --throughput does not apply to perf consume/);
    expectOneLineError(runs[7]!, /^strata: --batch-size does not apply to perf consume/);
    expectOneLineError(runs[8]!, /^strata: --warmup-records must be an integer from 0 to 9, got '10'/);
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
    const consumed = await strata(['perf', 'consume', '--topic', 'perf-paced', '--records', '3700']);
    expect(consumed.status, consumed.stderr).toBe(0);
  });

  it('--transaction-records runs transactions of N records, read_committed sees them all, and reports commit latency', async () => {
    const admin = await strata(['topic', 'create', 'perf-txn', '--partitions', '2']);
    expect(admin.status, admin.stderr).toBe(0);
    const run = await strata(['perf', 'produce', '--topic', 'perf-txn', '--records', '250', '--record-size', '100', '--transaction-records', '100', '--warmup-records', '50']);
    expect(run.status, run.stderr).toBe(0);
    // 250 records in transactions of 100, 50 of warm-up: the transactions from record 100 on are measured.
    expect(run.stdout).toMatch(/^perf produce: \d+ records of 100 B to perf-txn in \d+ transactions of 100 \(after 50 warm-up records\) in [\d.]+ s: .* commit latency ms avg /);
    const consumed = await strata(['perf', 'consume', '--topic', 'perf-txn', '--records', '250']);
    expect(consumed.status, consumed.stderr).toBe(0);
    const bad = await Promise.all([
      strata(['perf', 'produce', '--topic', 'perf-txn', '--records', '10', '--record-size', '10', '--transaction-records', '10', '--acks', '1']),
      strata(['perf', 'produce', '--topic', 'perf-txn', '--records', '10', '--record-size', '10', '--transactional-id', 'x']),
    ]);
    expectOneLineError(bad[0]!, /^strata: --acks does not apply with --transaction-records/);
    expectOneLineError(bad[1]!, /^strata: --transactional-id needs --transaction-records/);
  });
});
