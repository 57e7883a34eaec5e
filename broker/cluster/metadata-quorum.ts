/**
 * The cluster metadata group (KRaft's `__cluster_metadata`): every broker of the cluster is a voter;
 * its log (`<dataDir>/__cluster_metadata-0/`, a partition log like any other) holds metadata
 * records (`metadata-records.ts`); every broker applies the committed ones, in offset order, to its
 * `MetadataImage`. The Raft leader of this group is the cluster's controller: it validates admin
 * requests against its image and proposes the records that carry them out.
 *
 * - `propose(records)` (controller only) resolves once the records are committed *and* applied to
 *   this broker's image, so a topic the controller just created is visible in its next answer.
 * - Listeners hear every image change after it is applied (the replica manager opens and closes
 *   partition replicas from it).
 * - Startup loads the snapshot below the log start (if the log was ever cut) and replays the log up
 *   to the recovered high watermark before anything is served.
 * - Snapshots (`metadata-snapshot-files.ts`): once `snapshotRecords` records are applied past the
 *   log start, the image is written as a snapshot at the last applied offset and the log is cut
 *   below it, so neither restarts nor the log grow without bound. A follower behind the leader's
 *   log start is sent that snapshot by Raft; its log is reset past what it had applied, and the apply
 *   loop then takes the image from the snapshot file instead of from records.
 *
 * Invariants: records are applied exactly once each, in offset order (`image.appliedOffset` only
 * grows, a snapshot only replaces the image with a later one); nothing above the high watermark is
 * ever applied; the log is only cut below what a snapshot on disk covers.
 *
 * Concurrency: applies run one at a time on a promise chain, fed by the driver's commit callbacks.
 */
import { asOffset, Log, readBatchHeader, type Offset } from '../../log/index.js';
import { StrataError } from '../../client/protocol/index.js';
import type { NodeId, RaftHost, RandomSource } from '../../replication/index.js';
import type { BrokerStats } from '../broker-stats.js';
import { errorFields, type Logger } from '../logger.js';
import { MetadataImage } from './metadata-image.js';
import { decodeMetadataBatch, encodeMetadataBatch, type MetadataRecord } from './metadata-records.js';
import { MetadataSnapshotFiles } from './metadata-snapshot-files.js';
import { RaftGroup } from './raft-group.js';

export const METADATA_GROUP = '__cluster_metadata';
export const METADATA_LOG_DIR = '__cluster_metadata-0';
const APPLY_READ_BYTES = 1024 * 1024;
/** How long a closing controller waits for another voter to take the metadata leadership. */
const HAND_OFF_MS = 1000;

export interface MetadataQuorumOptions {
  readonly dataDir: string;
  readonly nodeId: NodeId;
  readonly voters: readonly NodeId[];
  readonly host: RaftHost;
  readonly random: RandomSource;
  readonly logger: Logger;
  readonly clock: () => number;
  /** Records applied past the log start before the image is snapshotted and the log cut. */
  readonly snapshotRecords: number;
  readonly stats: BrokerStats;
}

interface ApplyWaiter {
  readonly lastOffset: Offset;
  readonly resolve: () => void;
}

export class MetadataQuorum {
  private current = new MetadataImage();
  private readonly listeners = new Set<(image: MetadataImage) => void>();
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly snapshots: MetadataSnapshotFiles;
  private readonly snapshotRecords: number;
  private group!: RaftGroup;
  private log!: Log;
  private applying: Promise<void> = Promise.resolve();
  private appliedEnd: Offset = asOffset(0);
  private waiters: ApplyWaiter[] = [];

  private constructor(options: MetadataQuorumOptions) {
    this.logger = options.logger.child({ component: 'metadata' });
    this.clock = options.clock;
    this.snapshots = new MetadataSnapshotFiles(`${options.dataDir}/${METADATA_LOG_DIR}`);
    this.snapshotRecords = options.snapshotRecords;
  }

  static async open(options: MetadataQuorumOptions): Promise<MetadataQuorum> {
    const quorum = new MetadataQuorum(options);
    const log = await Log.open(`${options.dataDir}/${METADATA_LOG_DIR}`, { flushPolicy: 'always' }, {
      clock: options.clock,
      events: { flushed: (ms) => options.stats.fsyncDurations.observe(ms / 1000) },
    });
    quorum.log = log;
    if (log.logStartOffset > 0) quorum.installSnapshot();
    quorum.group = await RaftGroup.open({
      group: METADATA_GROUP,
      log,
      nodeId: options.nodeId,
      voters: options.voters,
      host: options.host,
      random: options.random,
      logger: quorum.logger,
      clock: options.clock,
      stats: options.stats,
      kind: 'metadata',
      onCommitted: (_from, to) => quorum.applyTo(to),
      snapshotData: { read: (lastOffset) => quorum.snapshots.read(lastOffset), write: (lastOffset, data) => quorum.snapshots.write(lastOffset, data) },
    });
    // Replay what is known to be committed before anything is served.
    quorum.applyTo(quorum.group.highWatermark);
    await quorum.applying;
    return quorum;
  }

  /** Every committed record applied so far (replaced whole when a snapshot is installed). */
  get image(): MetadataImage {
    return this.current;
  }

  /** The metadata log's start: records below it live only in the snapshot there. */
  get logStartOffset(): Offset {
    return this.log.logStartOffset;
  }

  get leaderId(): NodeId | undefined {
    return this.group.leaderId;
  }

  get term(): number {
    return this.group.term;
  }

  get isController(): boolean {
    return this.group.isLeader;
  }

  /** On the controller: the voters it heard from lately (itself included); elsewhere none. */
  activeVoters(): NodeId[] {
    return this.group.node.activeVoters();
  }

  get raftGroup(): RaftGroup {
    return this.group;
  }

  subscribe(listener: (image: MetadataImage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Throws NOT_CONTROLLER (with the controller's id as the hint) unless this broker is the controller. */
  assertController(): void {
    if (!this.isController) {
      const leader = this.leaderId;
      throw new StrataError('NOT_CONTROLLER', leader === undefined ? 'the cluster is electing a controller' : `the controller is node ${leader}`, { leaderHint: leader ?? -1 });
    }
  }

  /** Proposes `records` as one entry; resolves once committed and applied here. Controller only. */
  async propose(records: readonly MetadataRecord[]): Promise<void> {
    this.assertController();
    const batch = encodeMetadataBatch(records, this.clock());
    const { lastOffset } = await this.group.propose(batch);
    if (this.appliedEnd > lastOffset) return;
    await new Promise<void>((resolve) => this.waiters.push({ lastOffset, resolve }));
  }

  /** Hands the controller role to the most caught-up voter (graceful shutdown), bounded in time. */
  async handOff(): Promise<void> {
    await this.group.handOff(HAND_OFF_MS).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.group.close();
    await this.applying.catch(() => undefined);
    await this.log.close();
  }

  /** Applies committed records below `end`, in order, on the apply chain; then snapshots if due. */
  private applyTo(end: Offset): void {
    this.applying = this.applying.then(async () => {
      try {
        while (this.appliedEnd < end) {
          // A snapshot from the leader reset the log past what was applied: take its image.
          if (this.appliedEnd < this.log.logStartOffset) this.installSnapshot();
          const { bytes, nextOffset } = await this.log.read(this.appliedEnd, { maxBytes: APPLY_READ_BYTES, maxOffset: end }).catch((error: unknown) => {
            if (this.appliedEnd < this.log.logStartOffset) return { bytes: Buffer.alloc(0), nextOffset: this.appliedEnd };
            throw error;
          });
          if (nextOffset <= this.appliedEnd) {
            if (this.appliedEnd < this.log.logStartOffset) continue;
            break;
          }
          for (let pos = 0; pos < bytes.length; ) {
            const { baseOffset, sizeBytes: size } = readBatchHeader(bytes, pos);
            decodeMetadataBatch(bytes.subarray(pos, pos + size)).forEach((record, i) => {
              if (baseOffset + i >= this.appliedEnd) this.current.apply(record, baseOffset + i);
            });
            pos += size;
          }
          this.appliedEnd = nextOffset;
        }
        if (this.appliedEnd - this.log.logStartOffset >= this.snapshotRecords) await this.snapshot();
      } catch (error) {
        // The log is the truth: a record that cannot be applied is a bug or a damaged log; stop applying.
        this.logger.error(errorFields(error), 'could not apply metadata records; the image stops here until a restart');
        return;
      }
      const done = this.waiters.filter((w) => w.lastOffset < this.appliedEnd);
      this.waiters = this.waiters.filter((w) => w.lastOffset >= this.appliedEnd);
      for (const listener of this.listeners) listener(this.current);
      for (const waiter of done) waiter.resolve();
    });
  }

  /** Replaces the image with the snapshot just below the log start (which must exist: the log was cut there). */
  private installSnapshot(): void {
    const start = this.log.logStartOffset;
    const lastOffset = asOffset(start - 1);
    const data = this.snapshots.read(lastOffset);
    if (data === undefined) throw new Error(`the metadata log in ${this.log.dir} starts at ${start} but there is no snapshot at ${lastOffset}; the records below it are lost`);
    this.current = MetadataImage.fromSnapshot(data);
    this.appliedEnd = start;
    this.snapshots.deleteBelow(lastOffset);
    this.logger.info({ lastOffset, brokers: this.current.brokers().length, topics: this.current.topicCount }, 'metadata snapshot loaded');
  }

  /** Writes the image as a snapshot at the last applied offset, then cuts the log below it. */
  private async snapshot(): Promise<void> {
    const lastOffset = asOffset(this.appliedEnd - 1);
    this.snapshots.write(lastOffset, this.current.toSnapshot());
    await this.log.deleteRecordsBefore(this.appliedEnd);
    this.snapshots.deleteBelow(lastOffset);
    this.logger.info({ lastOffset, logStartOffset: this.log.logStartOffset }, 'metadata snapshot written');
  }
}
