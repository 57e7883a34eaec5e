/**
 * The way to one consumer group's coordinator: FindCoordinator (key type 0) to learn which broker it
 * is, the connections to it, and OffsetFetch with retries.
 *
 * - The coordinator found is remembered until an error says it moved (NOT_COORDINATOR,
 *   COORDINATOR_NOT_AVAILABLE, a lost connection, a timeout): `invalidate()` forgets it and the next
 *   request looks it up again. Concurrent lookups share one FindCoordinator request.
 * - Requests to the coordinator travel on lanes of the client's broker pool (`broker-pool.ts`): a
 *   member's heartbeats on a lane of their own (the coordinator holds them as long polls), commits,
 *   offset fetches and the leave heartbeat on the client-wide `GROUP_LANE`, on which nothing is ever
 *   held, so a commit never waits behind a fetch or heartbeat long poll.
 * - `COORDINATOR_RETRY_CODES` are the errors after which the same request succeeds against the
 *   coordinator found again; the request is retried with the client's backoff.
 */
import type { Cluster, CoordinatorAddress } from './cluster.js';
import { API_KEYS, ERRORS, StrataError, type Connection } from './protocol/index.js';
import { sleep, backoffMs, isRetriable } from './retry.js';
import { toTopicPartitions, topicPartitionKey, type TopicPartition } from './topic-partitions.js';

/** The lane of group requests that are answered at once (commits, offset fetches, leave). */
export const GROUP_LANE = 'group';

/** Errors after which the coordinator is looked up again. */
const COORDINATOR_MOVED_CODES: ReadonlySet<number> = new Set([
  ERRORS.NOT_COORDINATOR.code,
  ERRORS.COORDINATOR_NOT_AVAILABLE.code,
  ERRORS.NETWORK_EXCEPTION.code,
  ERRORS.REQUEST_TIMED_OUT.code,
]);

/** Errors after which a coordinator request is sent again (after looking the coordinator up when it moved). */
export const COORDINATOR_RETRY_CODES: ReadonlySet<number> = new Set([
  ...COORDINATOR_MOVED_CODES,
  ERRORS.COORDINATOR_LOAD_IN_PROGRESS.code,
  ERRORS.BROKER_SHUTTING_DOWN.code,
]);

export function coordinatorMoved(code: number): boolean {
  return COORDINATOR_MOVED_CODES.has(code);
}

export function codeOf(error: unknown): number | undefined {
  return error instanceof StrataError ? error.code : undefined;
}

export class GroupCoordinatorClient {
  readonly groupId: string;
  private readonly cluster: Cluster;
  private found: Promise<CoordinatorAddress> | undefined;

  constructor(cluster: Cluster, groupId: string) {
    this.cluster = cluster;
    this.groupId = groupId;
  }

  /** The coordinator, looked up once and remembered until `invalidate()`. */
  coordinator(): Promise<CoordinatorAddress> {
    if (this.found === undefined) {
      const lookup = this.cluster.findGroupCoordinator(this.groupId);
      this.found = lookup;
      lookup.catch(() => {
        if (this.found === lookup) this.found = undefined;
      });
    }
    return this.found;
  }

  /** Forgets the coordinator: the next request looks it up again. */
  invalidate(): void {
    this.found = undefined;
  }

  /** A connection to the coordinator on `lane`. */
  async connection(lane: string): Promise<Connection> {
    const { host, port } = await this.coordinator();
    return this.cluster.pool.get({ host, port }, lane);
  }

  /**
   * Runs `attempt` (one request to the coordinator; it throws a StrataError for an error code)
   * until it succeeds, fails for good, or the client's retries run out. Retriable coordinator
   * errors look the coordinator up again when it moved and back off. `stopped` ends the retries.
   */
  async withCoordinatorRetry<T>(attempt: () => Promise<T>, stopped: () => boolean = () => false): Promise<T> {
    const retry = this.cluster.config.retry;
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        const code = codeOf(error);
        if (code !== undefined && coordinatorMoved(code)) this.invalidate();
        const again = code !== undefined ? COORDINATOR_RETRY_CODES.has(code) : isRetriable(error);
        if (!again || n >= retry.retries || stopped()) throw error;
        await sleep(backoffMs(n, retry));
      }
    }
  }

  /**
   * The group's committed offsets of `partitions` (the next offset to consume), -1 where the group
   * committed nothing. Keyed by `topic\u0000partition`.
   */
  fetchOffsets(partitions: readonly TopicPartition[], stopped?: () => boolean): Promise<Map<string, number>> {
    const request = {
      groupId: this.groupId,
      topics: toTopicPartitions(partitions).map(({ topic, partitions: list }) => ({ name: topic, partitions: list })),
      allTopics: false,
    };
    return this.withCoordinatorRetry(async () => {
      const connection = await this.connection(GROUP_LANE);
      const response = await connection.request(API_KEYS.offsetFetch, request);
      if (response.errorCode !== 0) throw StrataError.fromCode(response.errorCode, `OffsetFetch of group '${this.groupId}': ${response.errorMessage}`);
      const offsets = new Map<string, number>();
      for (const topic of response.topics) {
        for (const p of topic.partitions) offsets.set(topicPartitionKey(topic.name, p.partition), p.committedOffset);
      }
      return offsets;
    }, stopped);
  }
}
