/**
 * Splits a byte stream into lines as it arrives, for `strata produce`: one `\n` ends a line (a `\r`
 * before it stays part of the line, as with Kafka's console producer), and a last line without `\n`
 * still counts. It yields the complete lines of each chunk together, so a caller can hand a chunk's
 * worth to the producer in one call; it pulls the next chunk only when asked, so a caller that waits
 * holds the stream back (backpressure reaches the writer of stdin).
 *
 * Lines are views into the chunks they came from, not copies; a line that spans chunks is joined.
 */
import { UsageError } from './command-context.js';

const NEWLINE = 0x0a;

export async function* readLines(input: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<Buffer[]> {
  /** Pieces of a line not yet ended, and their total length. */
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let lineNumber = 0;
  for await (const data of input) {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const lines: Buffer[] = [];
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE, start); end >= 0; end = chunk.indexOf(NEWLINE, start)) {
      let line = chunk.subarray(start, end);
      if (partial.length > 0) {
        line = Buffer.concat([...partial, line], partialBytes + line.length);
        partial = [];
        partialBytes = 0;
      }
      lineNumber++;
      if (line.length > maxLineBytes) throw new UsageError(`line ${lineNumber} is ${line.length} bytes, more than ${maxLineBytes}`);
      lines.push(line);
      start = end + 1;
    }
    if (start < chunk.length) {
      partial.push(chunk.subarray(start));
      partialBytes += chunk.length - start;
      if (partialBytes > maxLineBytes) throw new UsageError(`line ${lineNumber + 1} is longer than ${maxLineBytes} bytes`);
    }
    if (lines.length > 0) yield lines;
  }
  if (partialBytes > 0) yield [Buffer.concat(partial, partialBytes)];
}
