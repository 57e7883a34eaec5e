/**
 * Producer ids for InitProducerId, unique across the cluster without a coordinator: broker N hands
 * out `counter * 1024 + N` (node ids 0..1023), so two brokers never give the same id, and its counter
 * never repeats across restarts, because it is persisted before it is used.
 *
 * On disk, `<dataDir>/producer-id-block.json`: `{ "nextCounter": C }`, replaced atomically (written,
 * fsynced, renamed, directory fsynced). Counters are reserved in blocks of `BLOCK_COUNTERS`: before
 * the first id of a block is handed out, the file says the next block starts after it. A crash loses
 * the rest of the block (ids are plentiful: 2^53 / 1024 counters), never repeats one. Kafka reserves
 * blocks the same way, from its controller (ProducerIdManager, KIP-730); here each broker reserves
 * from its own disk.
 *
 * Concurrency: one thread; the reservation is a synchronous write, once per 1000 ids.
 */
import fs from 'node:fs';
import path from 'node:path';
import { replaceFileAtomically } from '../log/index.js';
import { StrataError } from '../client/protocol/index.js';
import { invariant } from './invariant.js';

export const PRODUCER_ID_FILE = 'producer-id-block.json';
/** Node ids a producer id can carry: the low 10 bits. */
export const PRODUCER_ID_NODE_SPAN = 1024;
const BLOCK_COUNTERS = 1000;
/** The largest epoch a producer id may reach (int16); a bump past it takes a new id. */
export const PRODUCER_EPOCH_MAX = 32_767;

export class ProducerIdManager {
  private readonly file: string;
  private readonly nodeId: number;
  private next: number;
  private reservedEnd: number;

  constructor(dataDir: string, nodeId: number) {
    this.file = path.join(dataDir, PRODUCER_ID_FILE);
    this.nodeId = nodeId;
    this.next = readNextCounter(this.file);
    this.reservedEnd = this.next;
  }

  /** A producer id never handed out before by any broker of the cluster (reserving a block on disk first when needed). */
  nextProducerId(): number {
    if (this.nodeId >= PRODUCER_ID_NODE_SPAN) {
      throw new StrataError('UNKNOWN_SERVER_ERROR', `broker ${this.nodeId} cannot hand out producer ids: node ids must be below ${PRODUCER_ID_NODE_SPAN}`);
    }
    if (this.next >= this.reservedEnd) {
      const end = this.next + BLOCK_COUNTERS;
      replaceFileAtomically(this.file, `${JSON.stringify({ nextCounter: end })}\n`);
      this.reservedEnd = end;
    }
    const id = this.next * PRODUCER_ID_NODE_SPAN + this.nodeId;
    invariant(Number.isSafeInteger(id), () => `producer id counter ${this.next} overflowed`);
    this.next += 1;
    return id;
  }
}

function readNextCounter(file: string): number {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  const parsed = JSON.parse(text) as { nextCounter?: unknown };
  const next = parsed.nextCounter;
  // A damaged file must not restart the counter at 0 and repeat ids: refuse to start instead.
  invariant(typeof next === 'number' && Number.isSafeInteger(next) && next >= 0, () => `${file} is damaged: ${text.slice(0, 100)}`);
  return next;
}
