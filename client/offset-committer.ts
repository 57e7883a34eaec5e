/**
 * A group member's offset commits: OffsetCommit requests to the coordinator, pipelined, in order,
 * retried, each resolving once the broker says its offsets are durable.
 *
 * - **Pipelined.** Commits go out as they are asked for, up to `maxInFlight` requests at once on the
 *   coordinator's group lane (`GROUP_LANE`); nothing waits for the answer to the commit before it.
 *   While every slot is taken, commits queue, and the queue goes out as one request when a slot
 *   frees: each partition with the newest offset asked for, which stands in for the older ones
 *   (the broker would have applied them in order and kept the newest anyway). One consumer reaches
 *   tens of thousands of commits a second this way.
 * - **Per-partition order.** A partition's offsets must land in the order they were asked for: an
 *   older offset never overwrites a newer one. Requests are written in queue order on one connection
 *   and the broker answers (and applies) a connection's requests in order. A failed request is
 *   retried only for the partitions no newer commit has been asked for since: for the others the
 *   newer commit stands in, and this commit resolves when that one does (or rejects with it).
 * - **Errors.** NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, a lost
 *   connection or a timeout: look the coordinator up again, back off, retry. STALE_MEMBER_EPOCH: retry
 *   after the member's next heartbeat (which brings its current epoch). UNKNOWN_MEMBER_ID,
 *   FENCED_MEMBER_EPOCH, PARTITION_NOT_ASSIGNED and anything else: reject — the partition is not
 *   ours any more (or the request is wrong), and retrying cannot change that. The client's retry
 *   count bounds the retries.
 * - The member id and epoch are read when a request is written, so a retry carries the newest ones.
 *   A consumer that is not a member (not joined yet, or fenced and not joined again) cannot commit.
 */
import {
  codeOf,
  coordinatorMoved,
  COORDINATOR_RETRY_CODES,
  GROUP_LANE,
  type GroupCoordinatorClient,
} from './group-coordinator-client.js';
import { API_KEYS, ERRORS, StrataError, type Connection, type OffsetCommitRequest, type OffsetCommitResponse } from './protocol/index.js';
import { backoffMs, sleep, type RetryOptions } from './retry.js';
import { topicPartitionKey } from './topic-partitions.js';

export interface CommitOffset {
  topic: string;
  partition: number;
  /** The next offset to consume (the last processed offset + 1), as Kafka commits it. */
  offset: number;
}

export interface MemberIdentity {
  memberId: string;
  memberEpoch: number;
}

export interface OffsetCommitterOptions {
  coordinator: GroupCoordinatorClient;
  /** The member's id and epoch now; undefined while it is not a member. */
  member: () => MemberIdentity | undefined;
  /** Resolves after the member's next heartbeat answer (rejects if the membership ended). */
  nextHeartbeat: () => Promise<void>;
  retry: RetryOptions;
  maxInFlight: number;
}

interface Job {
  /** The partitions still to commit by this job, by `topic\u0000partition`. */
  readonly entries: Map<string, CommitOffset>;
  /** Newer commits that stand in for partitions dropped from `entries`. */
  readonly standIns: Set<Job>;
  attempts: number;
  readonly done: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
  settled: boolean;
}

const STALE = ERRORS.STALE_MEMBER_EPOCH.code;

export class OffsetCommitter {
  private readonly options: OffsetCommitterOptions;
  private readonly queue: Job[] = [];
  /**
   * The newest job asked to commit each partition. Kept after it settles (one job per partition the
   * consumer ever committed): a retry of an older job must still see that a newer one exists.
   */
  private readonly newest = new Map<string, Job>();
  private inFlight = 0;
  private draining = false;
  private isClosed = false;

  constructor(options: OffsetCommitterOptions) {
    this.options = options;
  }

  /** Commits `offsets`; resolves once they are durable, rejects with the first final error. */
  commit(offsets: readonly CommitOffset[]): Promise<void> {
    if (this.isClosed) return Promise.reject(new StrataError('NETWORK_EXCEPTION', 'The consumer is closed.'));
    if (offsets.length === 0) return Promise.resolve();
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const job: Job = { entries: new Map(), standIns: new Set(), attempts: 0, done, resolve, reject, settled: false };
    for (const offset of offsets) {
      const key = topicPartitionKey(offset.topic, offset.partition);
      job.entries.set(key, { topic: offset.topic, partition: offset.partition, offset: offset.offset });
      this.newest.set(key, job);
    }
    this.queue.push(job);
    this.drain();
    return done;
  }

  /** Commits in flight or queued. */
  get pending(): number {
    return this.inFlight + this.queue.length;
  }

  /** Later commits reject; those in flight finish, but are not retried. */
  close(): void {
    this.isClosed = true;
    for (const job of this.queue.splice(0)) this.settle(job, new StrataError('NETWORK_EXCEPTION', 'The consumer is closed.'));
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    void this.sendQueued().finally(() => {
      this.draining = false;
      if (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) this.drain();
    });
  }

  /** Writes queued jobs in order while there is room in flight. The only place requests are written. */
  private async sendQueued(): Promise<void> {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      let connection: Connection;
      try {
        connection = await this.options.coordinator.connection(GROUP_LANE);
      } catch (error) {
        this.failed(this.queue.shift()!, error);
        continue;
      }
      while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight && !connection.closed) {
        // Everything queued goes in one request: under load (all slots in flight) commits coalesce,
        // each partition carrying the newest offset asked for, which stands in for the older ones.
        const jobs = this.queue.splice(0);
        const member = this.options.member();
        if (member === undefined) {
          const error = new StrataError('UNKNOWN_MEMBER_ID', `The consumer is not a member of group '${this.options.coordinator.groupId}' now.`);
          for (const job of jobs) this.settle(job, error);
          continue;
        }
        this.inFlight++;
        connection
          .request(API_KEYS.offsetCommit, this.request(jobs, member))
          .then(
            (response) => this.answered(jobs, response),
            (error: unknown) => {
              for (const job of jobs) this.failed(job, error);
            },
          )
          .finally(() => {
            this.inFlight--;
            this.drain();
          });
      }
    }
  }

  private request(jobs: readonly Job[], member: MemberIdentity): OffsetCommitRequest {
    // Later jobs override earlier ones: the queue is in the order the commits were asked for.
    const newest = new Map<string, CommitOffset>();
    for (const job of jobs) for (const [key, entry] of job.entries) newest.set(key, entry);
    const topics = new Map<string, OffsetCommitRequest['topics'][number]>();
    for (const { topic, partition, offset } of newest.values()) {
      let entry = topics.get(topic);
      if (entry === undefined) topics.set(topic, (entry = { name: topic, partitions: [] }));
      entry.partitions.push({ partition, committedOffset: offset, committedMetadata: '' });
    }
    return { groupId: this.options.coordinator.groupId, memberId: member.memberId, memberEpoch: member.memberEpoch, topics: [...topics.values()] };
  }

  private answered(jobs: readonly Job[], response: OffsetCommitResponse): void {
    if (response.errorCode !== 0) {
      const error = StrataError.fromCode(response.errorCode, `OffsetCommit: ${response.errorMessage}`);
      for (const job of jobs) this.failed(job, error);
      return;
    }
    const results = new Map<string, { code: number; error: () => StrataError }>();
    for (const topic of response.topics) {
      for (const result of topic.partitions) {
        results.set(topicPartitionKey(topic.name, result.partition), {
          code: result.errorCode,
          error: () => StrataError.fromCode(result.errorCode, `Commit of ${topic.name}-${result.partition}: ${result.errorMessage}`),
        });
      }
    }
    for (const job of jobs) {
      let retriable: StrataError | undefined;
      let final: StrataError | undefined;
      for (const key of [...job.entries.keys()]) {
        const result = results.get(key);
        if (result === undefined) {
          final ??= new StrataError('INVALID_RESPONSE', 'OffsetCommit left out partitions.');
        } else if (result.code === 0) {
          job.entries.delete(key);
        } else if (result.code === STALE || COORDINATOR_RETRY_CODES.has(result.code)) {
          retriable ??= result.error();
        } else {
          final ??= result.error();
        }
      }
      if (final !== undefined) this.settle(job, final);
      else if (retriable !== undefined) this.failed(job, retriable);
      else this.settle(job);
    }
  }

  private failed(job: Job, error: unknown): void {
    const code = codeOf(error);
    if (code !== undefined && coordinatorMoved(code)) this.options.coordinator.invalidate();
    const retriable = code === STALE || (code !== undefined && COORDINATOR_RETRY_CODES.has(code));
    if (!retriable || this.isClosed || job.attempts >= this.options.retry.retries) {
      this.settle(job, error instanceof Error ? error : new StrataError('UNKNOWN_SERVER_ERROR', String(error)));
      return;
    }
    const attempt = job.attempts++;
    const wait = code === STALE ? this.options.nextHeartbeat() : sleep(backoffMs(attempt, this.options.retry));
    wait.then(
      () => this.requeue(job),
      (waitError: unknown) => this.settle(job, waitError instanceof Error ? waitError : (error as Error)),
    );
  }

  /** Sends a failed job again, without the partitions a newer commit stands in for. */
  private requeue(job: Job): void {
    if (this.isClosed) {
      this.settle(job, new StrataError('NETWORK_EXCEPTION', 'The consumer is closed.'));
      return;
    }
    for (const key of [...job.entries.keys()]) {
      const newer = this.newest.get(key);
      if (newer !== undefined && newer !== job) {
        job.entries.delete(key);
        job.standIns.add(newer);
      }
    }
    if (job.entries.size === 0) {
      this.settle(job);
      return;
    }
    this.queue.push(job);
    this.drain();
  }

  /** Ends a job: with an error, or — once the newer commits standing in for some of it are durable — with success. */
  private settle(job: Job, error?: Error): void {
    if (job.settled) return;
    job.settled = true;
    if (error !== undefined) {
      job.reject(error);
      return;
    }
    Promise.all([...job.standIns].map((standIn) => standIn.done)).then(() => job.resolve(), job.reject);
  }
}
