/**
 * The metadata group's snapshot files (KRaft's `.checkpoint` files): the image of every metadata
 * record at or below `lastOffset`, kept beside the metadata log as
 * `<lastOffset, 20 digits>.checkpoint`. The log is cut below a snapshot once it is on disk, so the
 * snapshot at `logStart - 1` is what the log cannot say any more: a restart loads it before replaying
 * the rest, and a leader sends it to a follower that is behind the log start.
 *
 * File layout: `SMS1` (magic), CRC-32C of the data (uint32 BE), data length (uint32 BE), data (the
 * image's JSON, `MetadataImage.toSnapshot`). Written with `replaceFileAtomically`, so a crash leaves
 * the old file or the new; a file whose length or CRC does not match is refused with an error that
 * names it (a damaged snapshot cannot be replaced by anything: the records it stood for are gone).
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32c, replaceFileAtomically, type Offset } from '../../log/index.js';

const MAGIC = Buffer.from('SMS1', 'latin1');
const HEADER_BYTES = 12;
const SUFFIX = '.checkpoint';
const NAME = /^(\d{20})\.checkpoint$/;

export class MetadataSnapshotFiles {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  fileOf(lastOffset: Offset): string {
    return path.join(this.dir, `${String(lastOffset).padStart(20, '0')}${SUFFIX}`);
  }

  /** Writes the snapshot of everything at or below `lastOffset`, durably. */
  write(lastOffset: Offset, data: Uint8Array): void {
    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header, 0);
    header.writeUInt32BE(crc32c(data), 4);
    header.writeUInt32BE(data.length, 8);
    replaceFileAtomically(this.fileOf(lastOffset), Buffer.concat([header, data]));
  }

  /** The data of the snapshot at `lastOffset`, or undefined when there is none. Throws if it is damaged. */
  read(lastOffset: Offset): Buffer | undefined {
    const file = this.fileOf(lastOffset);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const damaged = (what: string): never => {
      throw new Error(`metadata snapshot ${file} is damaged: ${what}`);
    };
    if (bytes.length < HEADER_BYTES || !bytes.subarray(0, 4).equals(MAGIC)) damaged('no SMS1 header');
    const length = bytes.readUInt32BE(8);
    if (bytes.length !== HEADER_BYTES + length) damaged(`holds ${bytes.length - HEADER_BYTES} data bytes, the header says ${length}`);
    const data = bytes.subarray(HEADER_BYTES);
    if (crc32c(data) !== bytes.readUInt32BE(4)) damaged('CRC mismatch');
    return data;
  }

  /** The offsets of the snapshots on disk, ascending. */
  offsets(): number[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .map((name) => NAME.exec(name)?.[1])
      .filter((digits): digits is string => digits !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** Deletes every snapshot below `lastOffset` (the one at it stays: the log start needs it). */
  deleteBelow(lastOffset: Offset): void {
    for (const offset of this.offsets()) {
      if (offset < lastOffset) fs.rmSync(this.fileOf(offset as Offset), { force: true });
    }
  }
}
