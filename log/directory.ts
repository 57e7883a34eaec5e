/**
 * Directory fsync: creating, renaming or deleting a file is durable only once its directory is
 * fsynced, so segment creation and deletion, checkpoint replacement and the compaction swap all end here.
 */
import fs from 'node:fs';

export function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The async form, for the append path, where a blocking fsync would stall every other request. */
export function fsyncDirectoryAsync(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.open(dir, 'r', (openError, fd) => {
      if (openError) return reject(openError);
      fs.fsync(fd, (syncError) => {
        fs.close(fd, () => (syncError ? reject(syncError) : resolve()));
      });
    });
  });
}
