/**
 * A bounded window of sends in flight, for `produce` and `perf produce`. The producer batches
 * whatever it is given; the window decides how much it is given: records are handed over without
 * waiting for each acknowledgement, until `maxRecords` or `maxBytes` are unacknowledged, and then
 * the reader waits for acknowledgements before reading more. The first failure is kept and stops the
 * window from admitting more.
 *
 * Single-threaded, with one reader: one `admit` waits at a time.
 */
export class SendWindow {
  private pendingRecords = 0;
  private pendingBytes = 0;
  private waiter: (() => void) | undefined;
  /** Records whose send resolved. */
  acknowledgedRecords = 0;
  acknowledgedBytes = 0;
  /** The first send that failed, if any. */
  failure: Error | undefined;

  constructor(
    private readonly maxRecords: number,
    private readonly maxBytes: number,
  ) {}

  /** Whether `records` of `bytes` more fit now. An empty window admits anything; a failed one nothing. */
  hasRoom(records: number, bytes: number): boolean {
    if (this.failure !== undefined) return false;
    return this.pendingRecords === 0 || (this.pendingRecords + records <= this.maxRecords && this.pendingBytes + bytes <= this.maxBytes);
  }

  /** Waits until `records` of `bytes` more fit, or a send failed. */
  async admit(records: number, bytes: number): Promise<void> {
    while (this.failure === undefined && !this.hasRoom(records, bytes)) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Counts a send as in flight until it settles. */
  track(sending: Promise<unknown>, records: number, bytes: number): void {
    this.pendingRecords += records;
    this.pendingBytes += bytes;
    sending.then(
      () => {
        this.acknowledgedRecords += records;
        this.acknowledgedBytes += bytes;
        this.release(records, bytes);
      },
      (error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
        this.release(records, bytes);
      },
    );
  }

  /** Waits until every tracked send settled. */
  async settle(): Promise<void> {
    while (this.pendingRecords > 0) await new Promise<void>((resolve) => (this.waiter = resolve));
  }

  private release(records: number, bytes: number): void {
    this.pendingRecords -= records;
    this.pendingBytes -= bytes;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
