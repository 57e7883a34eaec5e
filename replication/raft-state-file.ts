/**
 * `raft-state`: a partition replica's Raft hard state, one small file in its log directory, replaced
 * atomically (temp file, fsync, rename, directory fsync: a crash leaves the old content or the new).
 *
 *   {"version":1,"term":T,"vote":V|null,"highWatermark":H,"belowStart":{"offset":O,"term":E}}
 *
 * - `term`, `vote`: Raft's; written and fsynced before a vote or a new term is acted upon.
 * - `highWatermark`: a lazy checkpoint (Kafka's replication-offset-checkpoint), never above what the
 *   log held durably when it was written; after a crash the replica restarts from it.
 * - `belowStart`: the offset and term of the entry just below the log start after a reset to the
 *   leader's log start (the Raft snapshot's last entry), which the log itself cannot tell. It counts only
 *   while `offset` is the log start minus one.
 *
 * A missing file is a replica that never voted (term 0). A file that does not parse is refused with a
 * clear error: a replica that may have voted must not forget it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { asEpoch, asOffset, replaceFileAtomically, type Epoch, type Offset } from '../log/index.js';

export const RAFT_STATE_FILE = 'raft-state';
const VERSION = 1;

export interface RaftStateFile {
  readonly term: Epoch;
  readonly vote: number | undefined;
  readonly highWatermark: Offset;
  readonly belowStart: { readonly offset: Offset; readonly term: Epoch };
}

export const INITIAL_RAFT_STATE: RaftStateFile = Object.freeze({
  term: asEpoch(0),
  vote: undefined,
  highWatermark: asOffset(0),
  belowStart: Object.freeze({ offset: asOffset(-1), term: asEpoch(0) }),
});

export function readRaftState(dir: string): RaftStateFile {
  const file = path.join(dir, RAFT_STATE_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return INITIAL_RAFT_STATE;
    throw error;
  }
  let parsed: { version?: unknown; term?: unknown; vote?: unknown; highWatermark?: unknown; belowStart?: { offset?: unknown; term?: unknown } };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (error) {
    throw new Error(`${file} is not valid JSON; refusing to start a replica that may have voted`, { cause: error });
  }
  const integer = (value: unknown, min: number): boolean => Number.isSafeInteger(value) && (value as number) >= min;
  const below = parsed.belowStart;
  if (
    parsed.version !== VERSION ||
    !integer(parsed.term, 0) ||
    !(parsed.vote === null || integer(parsed.vote, 0)) ||
    !integer(parsed.highWatermark, 0) ||
    below === undefined ||
    !integer(below.offset, -1) ||
    !integer(below.term, 0)
  ) {
    throw new Error(`${file} does not hold a version ${VERSION} raft state: ${text.slice(0, 200)}`);
  }
  return {
    term: asEpoch(parsed.term as number),
    vote: parsed.vote === null ? undefined : (parsed.vote as number),
    highWatermark: asOffset(parsed.highWatermark as number),
    belowStart: { offset: asOffset(below.offset as number), term: asEpoch(below.term as number) },
  };
}

/** Replaces the file atomically and durably (fsyncs included). */
export function writeRaftState(dir: string, state: RaftStateFile): void {
  const body = {
    version: VERSION,
    term: state.term,
    vote: state.vote ?? null,
    highWatermark: state.highWatermark,
    belowStart: { offset: state.belowStart.offset, term: state.belowStart.term },
  };
  replaceFileAtomically(path.join(dir, RAFT_STATE_FILE), `${JSON.stringify(body)}\n`);
}
