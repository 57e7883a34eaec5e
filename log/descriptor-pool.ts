/**
 * A bounded pool of the file descriptors that sealed segments read through, least recently used
 * first out.
 *
 * Why: a partition may hold thousands of sealed segments (small `segment.bytes`, or a producer whose
 * timestamps roll a segment per batch), and a descriptor held per segment for the life of the log
 * exhausts the process's open-file limit; then every log on the broker fails its next roll with
 * EMFILE. So only the active segment of each log holds its `.log` open; a sealed segment opens its
 * file when a read needs it and hands the descriptor to this pool, which closes the least recently
 * used one once more than `maxOpen` are open. A reopen costs one open(2) — nothing next to the read
 * that needs it — and the page cache does not care which descriptor reads a file.
 *
 * Invariants:
 * - Every member holds an open descriptor, and `size <= maxOpen` after each `touch`, except while
 *   more members than that are busy (a read in flight holds its descriptor: it is never closed
 *   under it); the excess is closed as each of those reads ends (`trim`).
 * - A member is never evicted by its own `touch`: the descriptor it just asked for stays open.
 *
 * Concurrency: one thread; `touch` and `remove` are synchronous, so a member's descriptor cannot be
 * closed between the call that returned it and a synchronous read through it. Async reads mark the
 * member busy for their whole duration.
 *
 * One pool is shared by every log in the process by default (`DescriptorPool.shared`), so the bound
 * is per process, whatever the number of partitions; tests pass their own.
 */
import { invariant } from './invariant.js';
import { SEALED_SEGMENT_DESCRIPTORS_MAX } from './limits.js';

/** What the pool needs of a segment: whether a read holds its descriptor, and a way to close it. */
export interface PooledFile {
  /** True while a read or fsync is in flight on the descriptor. */
  readonly busy: boolean;
  /** Closes the descriptor; the member reopens its file when it next needs it. */
  closeDescriptor(): void;
}

export class DescriptorPool {
  /** The process-wide pool every log uses unless told otherwise. */
  static readonly shared = new DescriptorPool(SEALED_SEGMENT_DESCRIPTORS_MAX);

  readonly maxOpen: number;
  /** Members with an open descriptor, least recently used first (a Map keeps insertion order). */
  private readonly members = new Map<PooledFile, true>();

  constructor(maxOpen: number) {
    invariant(Number.isSafeInteger(maxOpen) && maxOpen >= 1, () => `a descriptor pool holds at least one descriptor, got ${maxOpen}`);
    this.maxOpen = maxOpen;
  }

  /** Descriptors open through the pool now. */
  get size(): number {
    return this.members.size;
  }

  /** `file` has an open descriptor and just used it: it becomes the most recently used; others may close. */
  touch(file: PooledFile): void {
    this.members.delete(file);
    this.members.set(file, true);
    this.trim(file);
  }

  /**
   * Closes idle descriptors, least recently used first, until at most `maxOpen` are open or only
   * busy ones (and `keep`) are left. Members call it when their last read ends, so descriptors a
   * burst of reads opened beyond the bound close as soon as those reads are done.
   */
  trim(keep?: PooledFile): void {
    if (this.members.size <= this.maxOpen) return;
    for (const member of this.members.keys()) {
      if (this.members.size <= this.maxOpen) break;
      if (member === keep || member.busy) continue;
      this.members.delete(member);
      member.closeDescriptor();
    }
  }

  /** `file` closed its descriptor itself (closed, deleted, or became the active segment). */
  remove(file: PooledFile): void {
    this.members.delete(file);
  }
}
