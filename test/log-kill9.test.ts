// Method: child processes append to a Log and print every append they invoke and every one that is
// acknowledged; the test SIGKILLs each at a random moment, reopens a copy of its directory and checks
// the Jepsen way that every acknowledged batch is there at its offsets with its contents — kill -9
// leaves the page cache intact, so this proves recovery and acknowledgement ordering, not fsync.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBatches, Log, type FlushPolicy } from '../log/index.js';
import { APPENDER_CONFIG } from './fixtures/log-appender.js';
import { prng } from './fixtures/prng.js';
import { recordsDigest } from './fixtures/record-digest.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const APPENDER = path.join(ROOT, 'test', 'fixtures', 'log-appender.ts');
const ROUNDS = 3;
/** A round is killed only after this many acknowledgements... */
const MIN_ACKS = 50;
/** ...and after a random delay of this many milliseconds past the child's `open` line. */
const KILL_DELAY_MS = { min: 100, max: 500 } as const;
/** A child that has not opened the log and acknowledged MIN_ACKS appends by then has failed. */
const ROUND_TIMEOUT_MS = 20_000;

/** One `invoke` line: an append the child started; `ack` once its `ok` line arrived. */
interface Invocation {
  round: number;
  id: number;
  digest: string;
  ack?: { baseOffset: number; lastOffset: number };
}

/** What a child printed before it was killed. */
interface RoundOutput {
  /** Log end offset and recovery report the child's own open found. */
  open: { logEndOffset: number; recovery: unknown } | undefined;
  acks: number;
  /** `error` lines, and lines that contradict the history. */
  errors: string[];
  stderr: string;
}

const children = new Set<ChildProcess>();
const temps: string[] = [];

afterEach(() => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-'));
  temps.push(dir);
  return dir;
}

/**
 * Runs one child on `dir` until it has acknowledged MIN_ACKS appends and a random delay has passed,
 * then SIGKILLs it and waits for its pipes to close. Every line it printed is recorded in `history`.
 */
async function runAndKill(
  dir: string,
  policy: FlushPolicy,
  seed: number,
  round: number,
  history: Map<string, Invocation>,
  random: () => number,
): Promise<RoundOutput> {
  const child = spawn(process.execPath, ['--import', 'tsx', APPENDER, dir, policy, String(seed)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const output: RoundOutput = { open: undefined, acks: 0, errors: [], stderr: '' };
  const byId = new Map<number, Invocation>();
  const delayMs = KILL_DELAY_MS.min + Math.floor(random() * (KILL_DELAY_MS.max - KILL_DELAY_MS.min));
  let openedAt = Number.POSITIVE_INFINITY;
  let pending = '';
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const onLine = (line: string): void => {
    const [kind, ...fields] = line.split(' ');
    if (kind === 'open') {
      openedAt = Date.now();
      output.open = { logEndOffset: Number(fields[0]), recovery: JSON.parse(fields.slice(1).join(' ')) };
    } else if (kind === 'invoke') {
      const invocation: Invocation = { round, id: Number(fields[0]), digest: fields[1] as string };
      if (history.has(invocation.digest)) output.errors.push(`digest ${invocation.digest} invoked twice`);
      history.set(invocation.digest, invocation);
      byId.set(invocation.id, invocation);
    } else if (kind === 'ok') {
      const invocation = byId.get(Number(fields[0]));
      if (invocation === undefined || invocation.digest !== fields[3]) output.errors.push(`'${line}' matches no invoke line`);
      else invocation.ack = { baseOffset: Number(fields[1]), lastOffset: Number(fields[2]) };
      output.acks += 1;
    } else if (kind === 'error') {
      output.errors.push(line);
    }
  };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (output.stderr += chunk));
  // Only whole lines count: a line cut by the kill was never fully reported.
  child.stdout.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() as string;
    for (const line of lines) onLine(line);
  });

  const started = Date.now();
  while (child.exitCode === null && child.signalCode === null) {
    if (output.acks >= MIN_ACKS && Date.now() >= openedAt + delayMs) break;
    if (Date.now() - started > ROUND_TIMEOUT_MS) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const diedEarly = child.exitCode !== null || child.signalCode !== null;
  child.kill('SIGKILL');
  await closed;
  children.delete(child);
  expect(diedEarly, `the child exited by itself (code ${child.exitCode}):\n${output.stderr}`).toBe(false);
  expect(output.errors, output.stderr).toEqual([]);
  expect(output.acks, `acknowledgements within ${ROUND_TIMEOUT_MS} ms:\n${output.stderr}`).toBeGreaterThanOrEqual(MIN_ACKS);
  return output;
}

/**
 * Opens a copy of `dir` (so the next child still finds the directory as the kill left it) and checks
 * it against the history: offsets contiguous from 0 to the log end; every batch whole, valid and
 * invoked exactly once; the batches present are, in offset order, a gapless prefix of each round's
 * invocations (offsets are assigned in call order and the page cache survives kill -9, so nothing
 * written can be missing before something kept); every acknowledged batch is present at exactly its
 * acknowledged offsets with the same records. Returns the problems found and the log end offset.
 */
async function check(dir: string, history: Map<string, Invocation>): Promise<{ problems: string[]; logEndOffset: number }> {
  const copy = tempDir();
  fs.cpSync(dir, copy, { recursive: true });
  const log = await Log.open(copy, { ...APPENDER_CONFIG, flushPolicy: 'never' });
  const problems: string[] = [];
  try {
    if (log.logStartOffset !== 0) problems.push(`log start offset ${log.logStartOffset}, expected 0`);
    const present = new Set<string>();
    let expectedBase = 0;
    let previous: Invocation | undefined;
    let offset = log.logStartOffset;
    while (offset < log.logEndOffset) {
      const { bytes, nextOffset } = await log.read(offset, { maxBytes: 1024 * 1024 });
      if (bytes.length === 0) {
        problems.push(`nothing readable at ${offset}, below the log end ${log.logEndOffset}`);
        break;
      }
      // decodeBatch checks each batch's size and CRC and parses every record.
      for (const { header, records } of decodeBatches(bytes)) {
        const base = header.baseOffset;
        const last = base + header.lastOffsetDelta;
        if (base !== expectedBase) problems.push(`batch at ${base}..${last}, expected one at ${expectedBase}: a gap or an overlap`);
        if (records.some((r, i) => r.offset !== base + i) || records.length !== last - base + 1) {
          problems.push(`batch at ${base}: record offsets are not ${base}..${last}`);
        }
        expectedBase = last + 1;
        const digest = recordsDigest(records);
        const invocation = history.get(digest);
        if (invocation === undefined) {
          problems.push(`unexpected: batch at ${base}..${last} was never invoked`);
          continue;
        }
        const name = `round ${invocation.round} append ${invocation.id}`;
        if (present.has(digest)) problems.push(`duplicated: ${name} again at ${base}`);
        present.add(digest);
        if (invocation.ack !== undefined && (invocation.ack.baseOffset !== base || invocation.ack.lastOffset !== last)) {
          problems.push(`moved: ${name} acknowledged at ${invocation.ack.baseOffset}..${invocation.ack.lastOffset}, found at ${base}..${last}`);
        }
        const follows =
          previous === undefined
            ? invocation.id === 0
            : (invocation.round === previous.round && invocation.id === previous.id + 1) ||
              (invocation.round > previous.round && invocation.id === 0);
        if (!follows) {
          const after = previous === undefined ? 'the start' : `round ${previous.round} append ${previous.id}`;
          problems.push(`reordered or missing: ${name} follows ${after}`);
        }
        previous = invocation;
      }
      offset = nextOffset;
    }
    if (expectedBase !== log.logEndOffset) problems.push(`batches end at ${expectedBase}, the log end is ${log.logEndOffset}`);
    for (const invocation of history.values()) {
      if (invocation.ack !== undefined && !present.has(invocation.digest)) {
        problems.push(
          `lost: round ${invocation.round} append ${invocation.id} acknowledged at ${invocation.ack.baseOffset}..${invocation.ack.lastOffset}`,
        );
      }
    }
    return { problems, logEndOffset: log.logEndOffset };
  } finally {
    await log.close();
    fs.rmSync(copy, { recursive: true, force: true });
  }
}

describe('kill -9 while appending', () => {
  for (const policy of ['always', 'never'] as const) {
    it(`flushPolicy '${policy}': every acknowledged batch survives at its offsets, round after round`, async () => {
      const seed = Number(process.env['STRATA_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
      const random = prng(seed);
      const dir = tempDir();
      const history = new Map<string, Invocation>();
      let recoveredEnd = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const output = await runAndKill(dir, policy, seed + round, round, history, random);
        const context = `seed ${seed} (STRATA_SEED=${seed} replays the records, not the timing), round ${round}`;
        // The child recovered the directory the previous kill left to the same end as the check did.
        expect(output.open?.logEndOffset, context).toBe(recoveredEnd);
        expect(output.open?.recovery, context).toMatchObject({ clean: false, segmentsDeleted: 0 });
        const { problems, logEndOffset } = await check(dir, history);
        expect(problems, context).toEqual([]);
        const acked = [...history.values()].filter((i) => i.ack !== undefined);
        const lastAck = Math.max(...acked.map((i) => (i.ack as { lastOffset: number }).lastOffset));
        expect(logEndOffset, context).toBeGreaterThan(lastAck);
        recoveredEnd = logEndOffset;
      }
    });
  }
});

