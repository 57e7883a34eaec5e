/**
 * The per-log checkpoint file, `log.checkpoint`: a one-line JSON object
 *
 *   {"version":1,"recoveryPoint":N,"logStartOffset":M,"crc":C}
 *
 * - `recoveryPoint`: every offset below it is fsynced, so recovery after an unclean stop rescans only
 *   the segments at or above it (Kafka's recovery-point-offset-checkpoint).
 * - `logStartOffset`: the first offset readers may see; `deleteRecordsBefore` moves it inside a
 *   segment, so it cannot be derived from file names alone (Kafka's log-start-offset-checkpoint).
 * - `crc`: CRC-32C of the JSON without this field, so a torn or edited file is recognised.
 *
 * It is replaced atomically (write a temp file, fsync, rename, fsync the directory): a crash leaves
 * the old checkpoint or the new one. A missing or damaged checkpoint is not an error; it only costs a
 * full recovery scan (recovery point 0) and the log start offset falls back to the first segment's base.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32c } from './crc32c.js';
import { replaceFileAtomically } from './atomic-file.js';
import type { Offset } from './units.js';

export const CHECKPOINT_FILE = 'log.checkpoint';

export interface LogCheckpoint {
  recoveryPoint: Offset;
  logStartOffset: Offset;
}

function body(checkpoint: LogCheckpoint): string {
  return JSON.stringify({ version: 1, recoveryPoint: checkpoint.recoveryPoint, logStartOffset: checkpoint.logStartOffset });
}

export function readLogCheckpoint(dir: string): LogCheckpoint | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, CHECKPOINT_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as { version?: unknown; recoveryPoint?: unknown; logStartOffset?: unknown; crc?: unknown };
    if (parsed.version !== 1 || !Number.isSafeInteger(parsed.recoveryPoint) || !Number.isSafeInteger(parsed.logStartOffset)) {
      return undefined;
    }
    const checkpoint = { recoveryPoint: parsed.recoveryPoint as Offset, logStartOffset: parsed.logStartOffset as Offset };
    return parsed.crc === crc32c(Buffer.from(body(checkpoint))) ? checkpoint : undefined;
  } catch {
    return undefined;
  }
}

export function writeLogCheckpoint(dir: string, checkpoint: LogCheckpoint): void {
  const json = body(checkpoint);
  replaceFileAtomically(path.join(dir, CHECKPOINT_FILE), `${json.slice(0, -1)},"crc":${crc32c(Buffer.from(json))}}\n`);
}
