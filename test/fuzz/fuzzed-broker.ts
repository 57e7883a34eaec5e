/**
 * The broker under fuzz: a real `strata broker start` child process run from source through tsx
 * (what `npx strata` runs after a build), on a free port, in a temp data dir, with a config file
 * that makes the log cleaner run every `logCleanupIntervalMs` so compaction passes over fuzzed
 * data during the run and not only at the end. It logs at level error (a protocol error is a warning,
 * thousands of them per run); its stderr is kept (the last 64 KiB) for failure
 * messages; its resident memory is read from /proc/PID/status.
 *
 * This file imports nothing from vitest: `npm run fuzz` runs it outside the test runner.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CLI_ENTRY = path.resolve(import.meta.dirname, '..', '..', 'broker', 'cli.ts');
const STDERR_KEPT_BYTES = 64 * 1024;
const READY_TIMEOUT_MS = 60_000;

export interface FuzzedBrokerOptions {
  /** The cleaner's period: short, so compaction runs over fuzzed batches while they arrive. */
  readonly logCleanupIntervalMs: number;
}

export class FuzzedBroker {
  readonly child: ChildProcessWithoutNullStreams;
  readonly port: number;
  readonly dataDir: string;
  private stderr = '';
  /** Set when the process has exited: its code or signal. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(child: ChildProcessWithoutNullStreams, port: number, dataDir: string) {
    this.child = child;
    this.port = port;
    this.dataDir = dataDir;
  }

  static async start(options: FuzzedBrokerOptions): Promise<FuzzedBroker> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-fuzz-'));
    const configFile = path.join(dataDir, 'broker.json');
    fs.writeFileSync(configFile, JSON.stringify({ logCleanupIntervalMs: options.logCleanupIntervalMs }));
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'broker', 'start', '--config', configFile,
      '--data', path.join(dataDir, 'data'), '--listen', '127.0.0.1:0', '--log-level', 'error']);
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-STDERR_KEPT_BYTES)));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`broker not listening after ${READY_TIMEOUT_MS} ms: ${stdout}\n${stderr}`)), READY_TIMEOUT_MS);
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const match = /listening on 127\.0\.0\.1:(\d+)/.exec(stdout);
        if (match !== null) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`broker exited (${code ?? signal}) before listening: ${stdout}\n${stderr}`));
      });
    });
    const broker = new FuzzedBroker(child, port, dataDir);
    child.stderr.removeAllListeners('data');
    broker.stderr = stderr;
    child.stderr.on('data', (chunk: string) => (broker.stderr = (broker.stderr + chunk).slice(-STDERR_KEPT_BYTES)));
    child.on('exit', (code, signal) => (broker.exit = { code, signal }));
    return broker;
  }

  get alive(): boolean {
    return this.exit === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resident set size in bytes (VmRSS), or undefined once the process is gone. */
  rssBytes(): number | undefined {
    try {
      const status = fs.readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
      return match === null ? undefined : Number(match[1]) * 1024;
    } catch {
      return undefined;
    }
  }

  /** The last `lines` lines the broker wrote to stderr, each cut to `lineChars` characters. */
  stderrTail(lines = 30, lineChars = 400): string {
    return this.stderr.split('\n').filter((l) => l !== '').slice(-lines)
      .map((l) => (l.length > lineChars ? `${l.slice(0, lineChars)}…` : l)).join('\n');
  }

  /** Kills the process (if still running) and removes the data dir. */
  async stop(): Promise<void> {
    if (this.alive) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
