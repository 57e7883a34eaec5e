/**
 * What a consumer hands the application — messages and batches — and how a decoded record becomes a
 * message (one factory per partition, so the decoder never looks the partition up per record).
 */
import type { RecordFactory } from '../log/index.js';

export interface ConsumerMessage {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /**
   * Record headers by key; when a key repeats, the last value wins. Records without headers share
   * one frozen empty object: read it, never write to it.
   */
  headers: { [key: string]: Buffer | null };
}

export interface ConsumerBatch {
  topic: string;
  partition: number;
  /** The partition's high watermark when the batch was fetched. */
  highWatermark: number;
  messages: ConsumerMessage[];
}

/** The `headers` of every message whose record has none. */
const NO_HEADERS: { readonly [key: string]: Buffer | null } = Object.freeze({});

export function messageFactory(topic: string, partition: number): RecordFactory<ConsumerMessage> {
  return (offset, timestamp, key, value, recordHeaders) => {
    let headers = NO_HEADERS as { [key: string]: Buffer | null };
    if (recordHeaders.length > 0) {
      headers = {};
      for (const h of recordHeaders) headers[h.key] = h.value;
    }
    return { topic, partition, offset, timestamp, key, value, headers };
  };
}
