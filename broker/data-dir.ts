/**
 * The broker's data directory, made ready before anything opens a file in it: created if missing,
 * checked to be a directory, and checked to be writable by writing and removing a probe file.
 *
 * Why not `fs.mkdirSync(dir, { recursive: true })`: on Node 20 it never returns for a path under
 * `/proc` or `/sys` (the kernel answers ENOENT for the child while the parent exists, and Node's
 * recursive mkdir retries forever), blocking the event loop so that not even SIGTERM is handled.
 * Here every missing component is created on its own, once, so each failure is an answer. A
 * directory that exists but cannot be written (a read-only mount, another user's directory) would
 * otherwise start a broker that fails only at the first topic it creates.
 *
 * Every failure is a `DataDirError` with one readable line naming the path and the reason.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Written and removed at startup to prove the directory takes new files. */
const PROBE_FILE = '.strata-write-check';

export class DataDirError extends Error {
  readonly dataDir: string;
  constructor(dataDir: string, problem: string, cause?: unknown) {
    super(`data directory ${dataDir} ${problem}`, cause === undefined ? undefined : { cause });
    this.name = 'DataDirError';
    this.dataDir = dataDir;
  }
}

/** `EACCES: permission denied, mkdir '/x'` as `permission denied (EACCES)`. */
function reason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code !== 'string') return message;
  const text = message.startsWith(`${code}: `) ? message.slice(code.length + 2).replace(/, \w+ '.*'$/, '') : message;
  return `${text} (${code})`;
}

/** Creates `dataDir` and its missing parents, and checks that it is a writable directory. */
export function prepareDataDir(dataDir: string): void {
  const missing: string[] = [];
  let existing = path.resolve(dataDir);
  for (;;) {
    let stats: fs.Stats;
    try {
      stats = fs.statSync(existing);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // ENOTDIR: a file stands somewhere above; the walk up finds it and says so.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new DataDirError(dataDir, `cannot be checked: ${existing}: ${reason(error)}`, error);
      const parent = path.dirname(existing);
      if (parent === existing) throw new DataDirError(dataDir, `cannot be created: ${existing} does not exist`, error);
      missing.push(existing);
      existing = parent;
      continue;
    }
    if (!stats.isDirectory()) {
      throw new DataDirError(dataDir, missing.length === 0 ? 'is not a directory' : `cannot be created: ${existing} is not a directory`);
    }
    break;
  }
  for (const dir of missing.reverse()) {
    try {
      fs.mkdirSync(dir);
    } catch (error) {
      // Another process may have made it meanwhile; that is as good.
      if ((error as { code?: unknown }).code === 'EEXIST' && fs.statSync(dir).isDirectory()) continue;
      throw new DataDirError(dataDir, `cannot be created: ${dir}: ${reason(error)}`, error);
    }
  }
  const probe = path.join(dataDir, PROBE_FILE);
  try {
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
  } catch (error) {
    throw new DataDirError(dataDir, `is not writable: ${reason(error)}`, error);
  }
}
