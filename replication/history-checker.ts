/**
 * A Jepsen-style checker of a write history against what a log holds at the end: the one judge of "no
 * acknowledged write lost", shared by the seeded simulation and the real-process fault tests.
 *
 * A test records every write as it is invoked, then its outcome:
 *   - `ok` with the offset the system acknowledged it at;
 *   - `failed`: the system said for certain that it was not written (a non-retriable refusal);
 *   - `unknown`: no answer, a timeout, a lost connection — it may or may not have been written.
 * At the end it reads every partition back from the log start and hands the checker what it read.
 *
 * The verdict, per Jepsen's vocabulary:
 *   - lost: an `ok` write whose acknowledged offset does not hold it (missing, or another value there);
 *   - duplicated: a value read at more than one offset (a retried write landing twice);
 *   - unexpected: a value read that was never invoked, or whose write `failed`;
 *   - reordered: a writer's `ok` writes to one partition whose offsets do not rise in invocation order;
 *   - recovered: `unknown` writes that turned out to be written (information, never an error).
 * Which of these a test tolerates is the test's business: "lost" and "unexpected" never; "duplicated"
 * only where retries without idempotence may duplicate.
 *
 * Values are strings that identify a write uniquely (the test makes them so, e.g. `w3-1207`).
 */

export type WriteOutcome = 'ok' | 'failed' | 'unknown';

export interface WriteRecord {
  /** Unique identity of the write; what is read back. */
  readonly value: string;
  readonly partition: number;
  /** Who wrote it; order is checked per writer and partition. */
  readonly writer: string;
  /** Invocation order within the whole history (monotonic). */
  readonly invokedAt: number;
  outcome: WriteOutcome | 'pending';
  /** The acknowledged offset, for `ok`. */
  offset?: number;
}

export interface ReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

export interface HistoryVerdict {
  readonly ok: number;
  readonly failed: number;
  readonly unknown: number;
  readonly lost: readonly { value: string; partition: number; offset: number; found: string | undefined }[];
  readonly duplicated: readonly { value: string; offsets: readonly string[] }[];
  readonly unexpected: readonly ReadRecord[];
  readonly reordered: readonly { writer: string; partition: number; value: string; offset: number; previousOffset: number }[];
  readonly recovered: number;
}

/** Records writes as they are invoked and completed; `check` judges them against a final read. */
export class WriteHistory {
  private readonly writes = new Map<string, WriteRecord>();
  private clock = 0;

  invoke(value: string, partition: number, writer: string): WriteRecord {
    if (this.writes.has(value)) throw new Error(`write ${value} invoked twice: values must be unique`);
    const record: WriteRecord = { value, partition, writer, invokedAt: this.clock++, outcome: 'pending' };
    this.writes.set(value, record);
    return record;
  }

  ok(value: string, offset: number): void {
    const record = this.pending(value);
    record.outcome = 'ok';
    record.offset = offset;
  }

  failed(value: string): void {
    this.pending(value).outcome = 'failed';
  }

  unknown(value: string): void {
    this.pending(value).outcome = 'unknown';
  }

  get size(): number {
    return this.writes.size;
  }

  /** Judges the history against everything read back; writes still pending count as unknown. */
  check(reads: Iterable<ReadRecord>): HistoryVerdict {
    return checkHistory([...this.writes.values()], reads);
  }

  private pending(value: string): WriteRecord {
    const record = this.writes.get(value);
    if (record === undefined) throw new Error(`write ${value} completed but never invoked`);
    if (record.outcome !== 'pending') throw new Error(`write ${value} completed twice (${record.outcome} first)`);
    return record;
  }
}

export function checkHistory(writes: readonly WriteRecord[], reads: Iterable<ReadRecord>): HistoryVerdict {
  const byValue = new Map(writes.map((w) => [w.value, w]));
  const atOffset = new Map<string, string>();
  const offsetsOf = new Map<string, string[]>();
  const unexpected: ReadRecord[] = [];
  for (const read of reads) {
    atOffset.set(`${read.partition}:${read.offset}`, read.value);
    const seen = offsetsOf.get(read.value);
    if (seen === undefined) offsetsOf.set(read.value, [`${read.partition}:${read.offset}`]);
    else seen.push(`${read.partition}:${read.offset}`);
    const write = byValue.get(read.value);
    if (write === undefined || write.outcome === 'failed') unexpected.push(read);
  }

  const lost: HistoryVerdict['lost'][number][] = [];
  const reordered: HistoryVerdict['reordered'][number][] = [];
  const lastOffset = new Map<string, number>();
  let ok = 0;
  let failed = 0;
  let unknown = 0;
  let recovered = 0;
  for (const write of [...writes].sort((a, b) => a.invokedAt - b.invokedAt)) {
    if (write.outcome === 'failed') {
      failed += 1;
      continue;
    }
    if (write.outcome !== 'ok') {
      unknown += 1;
      if (offsetsOf.has(write.value)) recovered += 1;
      continue;
    }
    ok += 1;
    const offset = write.offset as number;
    const found = atOffset.get(`${write.partition}:${offset}`);
    if (found !== write.value) lost.push({ value: write.value, partition: write.partition, offset, found });
    const stream = `${write.writer}\u0000${write.partition}`;
    const previous = lastOffset.get(stream);
    if (previous !== undefined && offset <= previous) reordered.push({ writer: write.writer, partition: write.partition, value: write.value, offset, previousOffset: previous });
    lastOffset.set(stream, Math.max(previous ?? -1, offset));
  }
  const duplicated = [...offsetsOf].filter(([, offsets]) => offsets.length > 1).map(([value, offsets]) => ({ value, offsets }));
  return { ok, failed, unknown, lost, duplicated, unexpected, reordered, recovered };
}

/** One line for a failure message: the counts and the first few of each finding. */
export function describeVerdict(verdict: HistoryVerdict, show = 5): string {
  const parts = [`ok ${verdict.ok}, failed ${verdict.failed}, unknown ${verdict.unknown} (${verdict.recovered} written)`];
  const list = (name: string, items: readonly unknown[]): void => {
    if (items.length > 0) parts.push(`${name} ${items.length}: ${JSON.stringify(items.slice(0, show))}`);
  };
  list('LOST', verdict.lost);
  list('UNEXPECTED', verdict.unexpected);
  list('duplicated', verdict.duplicated);
  list('reordered', verdict.reordered);
  return parts.join('; ');
}

/**
 * What an exactly-once pipeline (consume → transform → produce in transactions) must show: each
 * record of its input read back (`inputs`, as a read_committed reader sees them) appears in its
 * output exactly once, nothing else appears there, and the outputs of one input partition keep
 * that partition's order.
 */
export interface ExactlyOnceVerdict {
  readonly inputs: number;
  readonly outputs: number;
  /** Input values with no output. */
  readonly missing: readonly ReadRecord[];
  /** Input values with more than one output, and where each landed. */
  readonly duplicated: readonly { value: string; outputs: readonly string[] }[];
  /** Outputs that are no input's (or whose transform cannot be undone). */
  readonly unexpected: readonly ReadRecord[];
  /** An output that came before the output of an earlier record of the same input partition. */
  readonly reordered: readonly { inputPartition: number; value: string; inputOffset: number; previousInputOffset: number }[];
}

/**
 * Judges a pipeline's output against its input. `inputOf` undoes the transform: the input value an
 * output value was made from, or undefined for a value no transform makes.
 */
export function checkExactlyOnce(inputs: Iterable<ReadRecord>, outputs: Iterable<ReadRecord>, inputOf: (output: string) => string | undefined): ExactlyOnceVerdict {
  const inputByValue = new Map<string, ReadRecord>();
  for (const input of inputs) inputByValue.set(input.value, input);
  const outputsOf = new Map<string, string[]>();
  const unexpected: ReadRecord[] = [];
  const reordered: ExactlyOnceVerdict['reordered'][number][] = [];
  const sorted = [...outputs].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  /** Per output partition and input partition, the input offset of the last output seen. */
  const lastInputOffset = new Map<string, number>();
  for (const output of sorted) {
    const value = inputOf(output.value);
    const input = value === undefined ? undefined : inputByValue.get(value);
    if (value === undefined || input === undefined) {
      unexpected.push(output);
      continue;
    }
    const where = `${output.partition}:${output.offset}`;
    const seen = outputsOf.get(value);
    if (seen === undefined) outputsOf.set(value, [where]);
    else {
      seen.push(where);
      continue;
    }
    const stream = `${output.partition}\u0000${input.partition}`;
    const previous = lastInputOffset.get(stream);
    if (previous !== undefined && input.offset <= previous) reordered.push({ inputPartition: input.partition, value, inputOffset: input.offset, previousInputOffset: previous });
    lastInputOffset.set(stream, Math.max(previous ?? -1, input.offset));
  }
  const missing = [...inputByValue.values()].filter((input) => !outputsOf.has(input.value));
  const duplicated = [...outputsOf].filter(([, where]) => where.length > 1).map(([value, where]) => ({ value, outputs: where }));
  return { inputs: inputByValue.size, outputs: sorted.length, missing, duplicated, unexpected, reordered };
}

/** True when the pipeline delivered every input exactly once, in order per input partition. */
export function exactlyOnceHeld(verdict: ExactlyOnceVerdict): boolean {
  return verdict.missing.length === 0 && verdict.duplicated.length === 0 && verdict.unexpected.length === 0 && verdict.reordered.length === 0;
}

/** One line for a failure message: the counts and the first few of each finding. */
export function describeExactlyOnce(verdict: ExactlyOnceVerdict, show = 5): string {
  const parts = [`${verdict.inputs} inputs, ${verdict.outputs} outputs`];
  const list = (name: string, items: readonly unknown[]): void => {
    if (items.length > 0) parts.push(`${name} ${items.length}: ${JSON.stringify(items.slice(0, show))}`);
  };
  list('MISSING', verdict.missing);
  list('DUPLICATED', verdict.duplicated);
  list('UNEXPECTED', verdict.unexpected);
  list('REORDERED', verdict.reordered);
  return parts.join('; ');
}
