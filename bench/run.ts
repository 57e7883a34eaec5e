/**
 * The benchmark runner: `npm run bench` (all of them) or `npm run bench -- log-append recovery` (some).
 *
 * It prints the machine, then runs each `bench/<name>.bench.ts` in turn, one at a time so no two
 * compete for the disk or the cores, and ends with a table of every headline figure beside its target.
 * A bench module exports `run(context?: BenchContext): Promise<Figure[] | void>`; one that returns
 * nothing simply has no row in the table. Each bench gets a fresh directory under os.tmpdir(), which
 * the runner deletes afterwards whatever happened.
 *
 * STRATA_BENCH_SCALE (default 1) multiplies every bench's data size and duration: 0.05 makes a smoke
 * test of a few seconds. Figures from a small scale are not comparable with the targets (caches, JIT
 * warm-up), which the summary says.
 *
 * A missed target is a finding, not a failure: the exit code is 0 unless a bench threw.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeLoad, describeMachine } from './machine.js';

/** One headline figure of a bench, with the target it is measured against. */
export interface Figure {
  /** What was measured, e.g. "append throughput / dd buffered write". */
  name: string;
  value: number;
  /** Unit of `value`, e.g. "MB/s", "µs", "%", "x". */
  unit: string;
  /** The target in words, e.g. ">= 80%". */
  target: string;
  met: boolean;
}

/** What the runner hands each bench. */
export interface BenchContext {
  /** Multiplier of data size and duration (STRATA_BENCH_SCALE); 1 is the full run. */
  scale: number;
  /** An empty directory on the disk under test, deleted by the runner after the bench. */
  dir: string;
}

type BenchRun = (context: BenchContext) => Promise<Figure[] | void>;

/** Cheap CPU-bound benches first, then the storage engine from writes to recovery. Others follow by name. */
const ORDER = ['crc32c', 'batch-codec', 'record-validate', 'frame-encode', 'index-lookup', 'assignor', 'producer-send', 'log-append', 'group-commit', 'log-read', 'offset-lookup', 'recovery', 'leader-epoch-rebuild', 'raft-core'];
const SUFFIX = '.bench.js';

interface Row {
  bench: string;
  figure: Figure;
}

async function main(): Promise<number> {
  const scale = parseScale(process.env.STRATA_BENCH_SCALE);
  const available = listBenches();
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !available.includes(name));
  if (unknown.length > 0) {
    console.error(`unknown bench ${unknown.join(', ')}; known: ${available.join(', ')}`);
    return 2;
  }
  const selected = wanted.length === 0 ? available : available.filter((name) => wanted.includes(name));

  console.log('== machine');
  for (const line of describeMachine(os.tmpdir())) console.log(line);
  console.log(`scale:    STRATA_BENCH_SCALE=${scale}${scale === 1 ? '' : ' (not the full run: figures are not comparable with the targets)'}`);
  console.log(`benches:  ${selected.join(', ')}`);

  const rows: Row[] = [];
  const failed: string[] = [];
  const started = performance.now();
  for (const name of selected) {
    console.log(`\n== ${name}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `strata-bench-${name}-`));
    const benchStarted = performance.now();
    try {
      const run = await loadRun(name);
      const figures = await run({ scale, dir });
      for (const figure of figures ?? []) rows.push({ bench: name, figure });
    } catch (error) {
      failed.push(name);
      console.error(`${name} failed:`, error);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    console.log(`(${name} took ${((performance.now() - benchStarted) / 1000).toFixed(1)} s)`);
  }

  console.log(`\n== summary (${((performance.now() - started) / 1000).toFixed(1)} s in all, scale ${scale}; ${describeLoad()})`);
  printSummary(rows);
  const quiet = selected.filter((name) => !failed.includes(name) && !rows.some((row) => row.bench === name));
  if (quiet.length > 0) console.log(`no headline figures returned by: ${quiet.join(', ')} (see their output above)`);
  if (failed.length > 0) console.log(`FAILED: ${failed.join(', ')}`);
  return failed.length > 0 ? 1 : 0;
}

/** Names of the compiled `*.bench.js` beside this file, in ORDER first and then alphabetically. */
function listBenches(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const names = fs
    .readdirSync(here)
    .filter((file) => file.endsWith(SUFFIX))
    .map((file) => file.slice(0, -SUFFIX.length));
  const rank = (name: string): number => {
    const i = ORDER.indexOf(name);
    return i < 0 ? ORDER.length : i;
  };
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

async function loadRun(name: string): Promise<BenchRun> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), name + SUFFIX);
  const module: unknown = await import(pathToFileURL(file).href);
  const run = (module as { run?: unknown }).run;
  if (typeof run !== 'function') throw new Error(`${file} does not export a run() function`);
  return run as BenchRun;
}

function parseScale(text: string | undefined): number {
  if (text === undefined || text === '') return 1;
  const scale = Number(text);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 16) {
    throw new Error(`STRATA_BENCH_SCALE must be a number in (0, 16], got ${JSON.stringify(text)}`);
  }
  return scale;
}

function printSummary(rows: Row[]): void {
  const table = [
    ['bench', 'figure', 'measured', 'target', 'result'],
    ...rows.map(({ bench, figure }) => [bench, figure.name, `${formatValue(figure.value)} ${figure.unit}`, figure.target, figure.met ? 'PASS' : 'MISS']),
  ];
  const widths = (table[0] ?? []).map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length)));
  for (const [i, row] of table.entries()) {
    console.log(row.map((cell, column) => (column === 2 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd());
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  if (rows.length === 0) console.log('(no figures)');
}

/** Three significant digits, without exponent notation. */
function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

process.exitCode = await main();
