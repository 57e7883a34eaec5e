/**
 * A sequential walk over the batch headers of a segment file, for the rebuilds that need headers
 * only (the leader-epoch cache, producer state). The file is read in 1 MiB windows, each starting at
 * the first header the previous one did not cover, so the bodies of batches larger than a window are
 * skipped and everything else is one sequential pass.
 *
 * The bytes must be whole batches (recovery validated them, or a clean shutdown vouches for them);
 * bytes that are not are a CORRUPT_MESSAGE LogError, not a crash: a trusted segment may still rot on
 * disk.
 */
import fs from 'node:fs';
import { BatchField } from './batch-header.js';
import { LogError } from './errors.js';
import { LOG_OVERHEAD_BYTES } from './limits.js';

/**
 * Bytes read at a time: a read costs ~10 µs of syscall on a busy machine but only ~0.1 µs per KiB
 * copied from the page cache, so large sequential reads beat one small read per header until batches
 * are larger than this (then their bodies are skipped).
 */
const SCAN_WINDOW_BYTES = 1024 * 1024;

/**
 * Calls `visit(window, at)` for each batch in bytes [from, to) of `file`, where `window` holds at
 * least the first `headerBytes` bytes of the batch from index `at` — the whole batch when
 * `wantsWhole(window, at)` says so from its header (a transaction marker, read in place; at most a
 * window's size). Returns the bytes read.
 */
export function scanBatchHeaders(
  file: string,
  from: number,
  to: number,
  headerBytes: number,
  visit: (window: Buffer, at: number) => void,
  wantsWhole: (window: Buffer, at: number) => boolean = () => false,
): number {
  if (from >= to) return 0;
  const fd = fs.openSync(file, 'r');
  try {
    const window = Buffer.allocUnsafe(Math.min(SCAN_WINDOW_BYTES, to - from));
    let windowStart = 0;
    let windowEnd = 0;
    let bytesRead = 0;
    let position = from;
    while (position < to) {
      if (position + headerBytes > windowEnd) {
        const length = Math.min(window.length, to - position);
        const n = readFully(fd, window, length, position);
        if (n < headerBytes) throw new LogError('CORRUPT_MESSAGE', `${file}: no batch header at ${position}`);
        windowStart = position;
        windowEnd = position + n;
        bytesRead += n;
      }
      let at = position - windowStart;
      const size = LOG_OVERHEAD_BYTES + window.readInt32BE(at + BatchField.batchLength);
      if (size <= headerBytes || position + size > to) throw new LogError('CORRUPT_MESSAGE', `${file}: bad batch length ${size} at ${position}`);
      if (position + size > windowEnd && wantsWhole(window, at)) {
        if (size > window.length) throw new LogError('CORRUPT_MESSAGE', `${file}: a ${size}-byte batch at ${position} where a small one belongs`);
        const n = readFully(fd, window, size, position);
        if (n < size) throw new LogError('CORRUPT_MESSAGE', `${file}: batch at ${position} cut short`);
        windowStart = position;
        windowEnd = position + n;
        bytesRead += n;
        at = 0;
      }
      visit(window, at);
      position += size;
    }
    return bytesRead;
  } finally {
    fs.closeSync(fd);
  }
}

export function readFully(fd: number, buffer: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
