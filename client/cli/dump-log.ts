/**
 * `strata log dump FILE.log`: prints the batches of a segment file (and with `--records` every record),
 * like Kafka's `kafka-dump-log.sh --print-data-log`. It reads the file directly and decodes with the
 * shared batch format only, so it works on a stopped broker's data and on Kafka's own segments.
 * It stops at the first damaged batch, reports where and why, and exits non-zero.
 */
import fs from 'node:fs';
import { CompressionCodec, decodeBatch, LOG_OVERHEAD_BYTES, LogError, MAX_BATCH_BYTES_CEILING, type DecodedBatch } from '../../log/index.js';

export interface DumpOptions {
  records: boolean;
  format: 'text' | 'json';
  write: (line: string) => void;
}

export interface DumpSummary {
  batches: number;
  records: number;
  validBytes: number;
  /** Set when the dump stopped at a damaged batch. */
  error?: string;
}

const CHUNK_BYTES = 8 * 1024 * 1024;
const CODEC_NAMES = new Map<number, string>(Object.entries(CompressionCodec).map(([name, id]) => [id, name]));

export function dumpLog(file: string, options: DumpOptions): DumpSummary {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const summary: DumpSummary = { batches: 0, records: 0, validBytes: 0 };
    let chunk = Buffer.alloc(0);
    let chunkStart = 0;
    while (summary.validBytes < size) {
      const at = summary.validBytes - chunkStart;
      if (chunk.length - at < LOG_OVERHEAD_BYTES || chunk.length - at < chunk.readInt32BE(at + 8) + LOG_OVERHEAD_BYTES) {
        const want = Math.min(size - summary.validBytes, Math.max(CHUNK_BYTES, MAX_BATCH_BYTES_CEILING + LOG_OVERHEAD_BYTES));
        chunk = Buffer.allocUnsafe(want);
        chunk = chunk.subarray(0, fs.readSync(fd, chunk, 0, want, summary.validBytes));
        chunkStart = summary.validBytes;
      }
      let batch: DecodedBatch;
      try {
        batch = decodeBatch(chunk, summary.validBytes - chunkStart);
      } catch (error) {
        if (!(error instanceof LogError)) throw error;
        summary.error = `damaged batch at position ${summary.validBytes}: ${error.message}`;
        break;
      }
      printBatch(batch, summary.validBytes, options);
      summary.batches += 1;
      summary.records += batch.records.length;
      summary.validBytes += batch.header.sizeBytes;
    }
    return summary;
  } finally {
    fs.closeSync(fd);
  }
}

function printBatch({ header, records }: DecodedBatch, position: number, options: DumpOptions): void {
  const lastOffset = header.baseOffset + header.lastOffsetDelta;
  const codec = CODEC_NAMES.get(header.attributes & 0x07) ?? `codec-${header.attributes & 0x07}`;
  if (options.format === 'json') {
    options.write(JSON.stringify({
      position, baseOffset: header.baseOffset, lastOffset, count: header.recordsCount, sizeBytes: header.sizeBytes,
      leaderEpoch: header.partitionLeaderEpoch, crc: header.crc, compression: codec,
      baseTimestamp: header.baseTimestamp, maxTimestamp: header.maxTimestamp,
      producerId: header.producerId, producerEpoch: header.producerEpoch, baseSequence: header.baseSequence,
      ...(options.records ? { records: records.map((r) => ({ offset: r.offset, timestamp: r.timestamp, key: r.key?.toString('utf8') ?? null, value: r.value?.toString('utf8') ?? null, headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value?.toString('utf8') ?? null])) })) } : {}),
    }));
    return;
  }
  options.write(
    `baseOffset: ${header.baseOffset} lastOffset: ${lastOffset} count: ${header.recordsCount} position: ${position} ` +
      `size: ${header.sizeBytes} leaderEpoch: ${header.partitionLeaderEpoch} compression: ${codec} ` +
      `maxTimestamp: ${header.maxTimestamp} crc: ${header.crc} isValid: true`,
  );
  if (!options.records) return;
  for (const r of records) {
    const headers = r.headers.map((h) => `${h.key}=${h.value?.toString('utf8') ?? 'null'}`).join(',');
    options.write(`| offset: ${r.offset} timestamp: ${r.timestamp} key: ${r.key?.toString('utf8') ?? 'null'} value: ${r.value?.toString('utf8') ?? 'null'} headers: [${headers}]`);
  }
}
