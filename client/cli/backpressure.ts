/**
 * Writing to stdout without outrunning it. A write that fills the stream's buffer returns false; the
 * writer then waits for 'drain' before producing more, so a slow reader (a pager, a pipe into a
 * slow program) slows the command down instead of growing its memory.
 *
 * A reader that goes away (`strata consume … | head`) makes the next write fail with EPIPE. That is
 * how a pipeline ends, not an error: `exitQuietlyOnBrokenPipe` exits 0 without a word.
 */
export function write(stream: NodeJS.WritableStream, text: string): Promise<void> | undefined {
  if (stream.write(text)) return undefined;
  return drained(stream);
}

/** Resolves on 'drain', or when the stream errors or closes (the error is someone else's to report). */
export function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('error', done);
    stream.on('close', done);
  });
}

/** Exits 0 at once when the stream's reader is gone; other stream errors exit 1 with one line. */
export function exitQuietlyOnBrokenPipe(stream: NodeJS.WritableStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    process.stderr.write(`strata: cannot write output: ${error.message}\n`);
    process.exit(1);
  });
}
