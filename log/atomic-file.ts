/**
 * Replacing a small file so that a crash leaves either the old content or the new, never a torn mix:
 * write a temp file beside it, fsync it, rename it over the target, fsync the directory. Used for the
 * log's checkpoint and the broker's topic metadata.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDirectory } from './directory.js';

export function replaceFileAtomically(file: string, contents: string | Uint8Array): void {
  const temp = `${file}.tmp`;
  const fd = fs.openSync(temp, 'w');
  try {
    fs.writeFileSync(fd, contents);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  fsyncDirectory(path.dirname(file));
}
