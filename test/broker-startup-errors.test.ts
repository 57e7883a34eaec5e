// Method: starts the real `strata broker start` (broker/cli.ts through tsx) with bad startup input
// (unusable data directories, bad flags, a bad config file) and checks that each process ends by
// itself within a deadline, exit 1, with exactly one line on stderr naming what is wrong and nothing
// on stdout; then `strata cluster up` on an unusable data directory, which must end likewise with
// its brokers' lines. A process still running at the deadline is killed and fails the test with its
// output. `/proc` and `/sys` are Linux's: a path under `/proc` cannot be created (Node's recursive
// mkdir never returned there), and `/sys/kernel` is a directory that takes no new file, even for root.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildProcesses } from './fixtures/strata-process.js';

/** A tsx process starting on a loaded 2-core machine, then failing at once. */
const EXIT_DEADLINE_MS = 45_000;

const children = new ChildProcesses();
let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-startup-errors-'));
  fs.writeFileSync(path.join(root, 'file'), 'x');
  fs.writeFileSync(path.join(root, 'bad.json'), '{bad');
});
afterAll(() => {
  children.killAll();
  fs.rmSync(root, { recursive: true, force: true });
});

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

async function brokerStart(args: readonly string[]): Promise<Ended> {
  return runToEnd(['broker', 'start', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', ...args], EXIT_DEADLINE_MS);
}

async function runToEnd(args: readonly string[], deadlineMs: number): Promise<Ended> {
  const child = children.spawn(args);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      new Promise<Ended>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`still running after ${deadlineMs} ms: strata ${args.join(' ')}; stdout: ${stdout}; stderr: ${stderr}`));
        }, deadlineMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function expectOneLine(ended: Ended, line: string | RegExp): void {
  expect(ended.code, ended.stderr).toBe(1);
  expect(ended.stdout).toBe('');
  const lines = ended.stderr.split('\n').filter((l) => l !== '');
  expect(lines, ended.stderr).toHaveLength(1);
  if (typeof line === 'string') expect(lines[0]).toBe(line);
  else expect(lines[0]).toMatch(line);
}

describe('strata broker start with bad startup input', () => {
  it.each([
    ['a data dir under /proc', () => ['--data', '/proc/strata-nope'], 'strata: data directory /proc/strata-nope cannot be created: /proc/strata-nope: no such file or directory (ENOENT)'],
    ['a clustered broker, data dir under /proc', () => ['--data', '/proc/strata-nope', '--peers', '1@127.0.0.1:1,2@127.0.0.1:2', '--node-id', '1'], 'strata: data directory /proc/strata-nope cannot be created: /proc/strata-nope: no such file or directory (ENOENT)'],
    ['a data dir that is a file', () => ['--data', path.join(root, 'file')], () => `strata: data directory ${path.join(root, 'file')} is not a directory`],
    ['a data dir under a file', () => ['--data', path.join(root, 'file', 'd')], () => `strata: data directory ${path.join(root, 'file', 'd')} cannot be created: ${path.join(root, 'file')} is not a directory`],
    ['a data dir that takes no file', () => ['--data', '/sys/kernel'], /^strata: data directory \/sys\/kernel is not writable: .* \((EACCES|EPERM|EROFS)\)$/],
    ['an unknown log level', () => ['--data', path.join(root, 'd'), '--log-level', 'loud'], "strata: --log-level must be one of trace, debug, info, warn, error, fatal, silent, got 'loud'"],
    ['a config file that is not JSON', () => ['--config', path.join(root, 'bad.json')], () => new RegExp(`^strata: --config ${path.join(root, 'bad.json').replaceAll('.', '\\.')} is not valid JSON: `)],
    ['a config file that is not there', () => ['--config', path.join(root, 'none.json')], () => `strata: --config ${path.join(root, 'none.json')}: no such file`],
    ['bad --peers', () => ['--data', path.join(root, 'd'), '--peers', 'garbage'], `strata: invalid broker config: '--peers' entry must look like ID@HOST:PORT, got "garbage"`],
  ] as Array<[string, () => string[], string | RegExp | (() => string | RegExp)]>)('%s: exit 1, one line', async (_name, args, expected) => {
    const ended = await brokerStart(args());
    expectOneLine(ended, typeof expected === 'function' ? expected() : expected);
  }, EXIT_DEADLINE_MS + 5000);

  it('cluster up with a data dir under /proc: every broker says why, the command exits 1', async () => {
    // Three brokers start (tsx, on a loaded machine) before each fails: a longer deadline.
    const deadlineMs = 2 * EXIT_DEADLINE_MS;
    const ended = await runToEnd(['cluster', 'up', '--nodes', '3', '--data', '/proc/strata-nope', '--base-port', '0', '--timeout-ms', String(deadlineMs)], deadlineMs);
    expect(ended.code, ended.stderr).toBe(1);
    expect(ended.stderr).toMatch(/^\[node \d\] strata: data directory \/proc\/strata-nope\/node-\d cannot be created: \/proc\/strata-nope: no such file or directory \(ENOENT\)$/m);
    expect(ended.stderr).toMatch(/\nstrata: cluster did not come up: broker \d \(127\.0\.0\.1:\d+\) exited with code 1 before it was ready\n$/);
  }, 2 * EXIT_DEADLINE_MS + 5000);
});
