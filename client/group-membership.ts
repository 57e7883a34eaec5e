/**
 * A consumer's membership of its group: the heartbeat state machine of the member protocol
 * documented in `protocol/apis/consumer-group-heartbeat.ts` (server-side assignment, KIP-848).
 *
 * ```
 *   (not a member) ──join: memberId '', epoch 0──► member(id, epoch) ──leave: epoch -1──► (left)
 *        ▲                                            │    ▲
 *        └── UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, ──┘    └── heartbeat: owned partitions, long poll
 *            session timeout passed: lose everything
 * ```
 *
 * - **Heartbeats** go on a connection of their own (the member's lane of the broker pool): the
 *   coordinator holds a heartbeat up to `maxWaitMs` (the heartbeat interval) while the member owns
 *   exactly its assignment, and answers at once when that changes. After each answer the next
 *   heartbeat goes out at once: the long poll paces the loop, and a rebalance reaches the member in
 *   milliseconds. While a reconciliation is running (the member's partitions differ from its
 *   assignment, so the coordinator answers at once), heartbeats are spaced by the interval, and one
 *   goes out as soon as a reconciliation step is done.
 * - **Reconciliation.** An answer's `assignment` is the whole set the member may own. Owned
 *   partitions outside it are revoked first (`host.revoke`: stop handing out their records, let the
 *   application finish the one in hand, commit, `onRevoked`, drop), then partitions new in it are
 *   assigned (`host.assign`: position at the committed offsets, `onAssigned`). One reconciliation
 *   runs at a time; it loops until what the member owns equals its latest assignment.
 * - **Losing partitions.** UNKNOWN_MEMBER_ID or FENCED_MEMBER_EPOCH: the coordinator no longer
 *   counts this member; its partitions may belong to another member already, so they are dropped
 *   without committing (`host.lose`) and the member joins again with epoch 0. The same happens when
 *   no heartbeat was answered for a session timeout (counted from the sending of the last answered
 *   one, so the member gives partitions up no later than the coordinator would take them away).
 * - **Coordinator errors** (NOT_COORDINATOR, COORDINATOR_*, a lost connection, a timeout): look the
 *   coordinator up again with backoff; partitions are kept until the session timeout has passed.
 * - **Final errors** (INVALID_GROUP_ID, INVALID_SESSION_TIMEOUT, UNSUPPORTED_ASSIGNOR, …) stop the
 *   membership and go to the application (`host.fail`).
 * - Answers to a heartbeat sent before the member lost its partitions (an older incarnation) are
 *   ignored, so a late answer can never hand back partitions the member already gave up.
 *
 * Concurrency: single-threaded. One heartbeat at a time (the loop), one reconciliation at a time.
 */
import type { BrokerPool } from './broker-pool.js';
import { fromTopicPartitions, toTopicPartitions, topicPartitionKey, type TopicPartition } from './topic-partitions.js';
import { codeOf, coordinatorMoved, COORDINATOR_RETRY_CODES, GROUP_LANE, type GroupCoordinatorClient } from './group-coordinator-client.js';
import type { MemberIdentity } from './offset-committer.js';
import {
  API_KEYS,
  ERRORS,
  MEMBER_EPOCH_JOIN,
  MEMBER_EPOCH_LEAVE,
  StrataError,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
} from './protocol/index.js';
import { backoffMs, isRetriable, type RetryOptions } from './retry.js';

/** What the membership asks of its consumer. */
export interface MembershipHost {
  /** The partitions the consumer owns now (reported in every heartbeat). */
  owned(): TopicPartition[];
  /**
   * Starts owning `partitions` (positions them, then `onAssigned`). `stillAssigned` says whether a
   * partition is still this member's once the committed offsets arrive.
   */
  assign(partitions: TopicPartition[], stillAssigned: (tp: TopicPartition) => boolean): Promise<void>;
  /** Gives partitions up cooperatively: stop, finish the message in hand, commit, `onRevoked`, drop. */
  revoke(partitions: TopicPartition[]): Promise<void>;
  /** Drops partitions at once, without committing; `onRevoked(…, 'lost')`. */
  lose(partitions: TopicPartition[]): Promise<void>;
  /** An error the application must see (the membership has stopped when it is final). */
  fail(error: Error): void;
}

export interface GroupMembershipOptions {
  coordinator: GroupCoordinatorClient;
  pool: BrokerPool;
  /** The broker-pool lane of this member's heartbeats. */
  lane: string;
  topics: readonly string[];
  sessionTimeoutMs: number;
  /** undefined: the coordinator's. */
  heartbeatIntervalMs: number | undefined;
  /** '' for the group's current assignor. */
  assignor: string;
  requestTimeoutMs: number;
  retry: RetryOptions;
  host: MembershipHost;
  now?: () => number;
}

const LOSE_CODES: ReadonlySet<number> = new Set([ERRORS.UNKNOWN_MEMBER_ID.code, ERRORS.FENCED_MEMBER_EPOCH.code]);

/** What a member must give up (`revoked`) and take (`assigned`) to own exactly `target`. */
export function diffAssignment(owned: readonly TopicPartition[], target: readonly TopicPartition[]): { assigned: TopicPartition[]; revoked: TopicPartition[] } {
  const key = (tp: TopicPartition) => topicPartitionKey(tp.topic, tp.partition);
  const ownedKeys = new Set(owned.map(key));
  const targetKeys = new Set(target.map(key));
  return {
    assigned: target.filter((tp) => !ownedKeys.has(key(tp))),
    revoked: owned.filter((tp) => !targetKeys.has(key(tp))),
  };
}

export class GroupMembership {
  private readonly options: GroupMembershipOptions;
  private readonly host: MembershipHost;
  private readonly now: () => number;
  private topics: readonly string[];
  private memberId = '';
  private memberEpoch = MEMBER_EPOCH_JOIN;
  /** The coordinator's heartbeat interval from its last answer. */
  private brokerIntervalMs: number | undefined;
  /** The latest assignment; undefined until an answer of this incarnation. */
  private target: TopicPartition[] | undefined;
  private targetKeys = new Set<string>();
  /** Bumped whenever the member loses its partitions; answers to older heartbeats are ignored. */
  private incarnation = 0;
  private reconciling: Promise<void> | undefined;
  private sessionTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private joinedOnce = false;
  private joined: { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void };
  private heartbeatWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  /** Set by `wake()`; the loop sends its next heartbeat at once instead of pacing. */
  private woken = false;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(options: GroupMembershipOptions) {
    this.options = options;
    this.host = options.host;
    this.now = options.now ?? Date.now;
    this.topics = [...options.topics];
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined);
    this.joined = { promise, resolve, reject };
  }

  /**
   * Starts heartbeating; resolves once the member joined. Rejects with a final error, or when the
   * first join still fails after the client's retries (the membership then stops).
   */
  start(): Promise<void> {
    this.loop ??= this.heartbeatLoop();
    return this.joined.promise;
  }

  /** The member's id and epoch, or undefined while it is not a member. */
  identity(): MemberIdentity | undefined {
    if (this.stopped || this.memberId === '' || this.memberEpoch <= 0) return undefined;
    return { memberId: this.memberId, memberEpoch: this.memberEpoch };
  }

  /** Resolves after the next answered heartbeat; rejects once the membership has stopped. */
  nextHeartbeat(): Promise<void> {
    if (this.stopped) return Promise.reject(new StrataError('NETWORK_EXCEPTION', 'The consumer left its group.'));
    return new Promise((resolve, reject) => this.heartbeatWaiters.push({ resolve, reject }));
  }

  /** Changes the subscription; the coordinator learns it with the next heartbeat. */
  subscribe(topics: readonly string[]): void {
    this.topics = [...topics];
    this.wake();
  }

  /** Sends the next heartbeat at once (after a reconciliation step, or when the consumer changed). */
  wake(): void {
    this.woken = true;
    const wakeUp = this.wakeUp;
    this.wakeUp = undefined;
    wakeUp?.();
  }

  /**
   * Stops heartbeating and leaves the group (a heartbeat with epoch -1 on the group lane, at most
   * `timeoutMs`). The partitions move at once. Never throws.
   */
  async leave(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    const identity = this.identity();
    this.stop(new StrataError('NETWORK_EXCEPTION', 'The consumer left its group.'));
    // The heartbeat lane may hold a long poll; the leave must not queue behind it.
    await this.options.pool.closeLane(this.options.lane);
    if (identity === undefined) return;
    const request: ConsumerGroupHeartbeatRequest = {
      ...this.request(),
      memberId: identity.memberId,
      memberEpoch: MEMBER_EPOCH_LEAVE,
      ownedPartitions: [],
      maxWaitMs: 0,
    };
    const leaving = (async () => {
      const connection = await this.options.coordinator.connection(GROUP_LANE);
      await connection.request(API_KEYS.consumerGroupHeartbeat, request, { timeoutMs });
    })();
    await withDeadline(leaving, timeoutMs).catch(() => undefined);
  }

  /** Stops the loop without leaving (the coordinator removes the member after its session timeout). */
  stop(reason: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sessionTimer !== undefined) clearTimeout(this.sessionTimer);
    this.joined.reject(reason);
    for (const waiter of this.heartbeatWaiters.splice(0)) waiter.reject(reason);
    this.wake();
  }

  // -------------------------------------------------------------------------------------------
  // Heartbeats

  /**
   * The heartbeat interval, which is also the long-poll wait. At most a third of the session
   * timeout: the member counts its session from the sending of its last answered heartbeat, so a
   * longer hold could make it give up partitions the coordinator still counts as its.
   */
  private get intervalMs(): number {
    const third = Math.max(1, Math.floor(this.options.sessionTimeoutMs / 3));
    return Math.min(this.options.heartbeatIntervalMs ?? this.brokerIntervalMs ?? third, third);
  }

  private request(): ConsumerGroupHeartbeatRequest {
    const joining = this.memberEpoch === MEMBER_EPOCH_JOIN;
    return {
      groupId: this.options.coordinator.groupId,
      memberId: this.memberId,
      memberEpoch: this.memberEpoch,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      subscribedTopicNames: [...this.topics],
      serverAssignor: this.options.assignor,
      ownedPartitions: toTopicPartitions(this.host.owned()),
      // A join is answered at once; a member with its assignment in hand is held (the long poll).
      maxWaitMs: joining ? 0 : this.intervalMs,
    };
  }

  private async heartbeatLoop(): Promise<void> {
    let failures = 0;
    let previous: { epoch: number; assignment: string } | undefined;
    while (!this.stopped) {
      const sentMs = this.now();
      const incarnation = this.incarnation;
      const request = this.request();
      let response: ConsumerGroupHeartbeatResponse;
      try {
        const connection = await this.options.coordinator.connection(this.options.lane);
        response = await connection.request(API_KEYS.consumerGroupHeartbeat, request, {
          timeoutMs: request.maxWaitMs + Math.min(this.options.requestTimeoutMs, this.options.sessionTimeoutMs),
        });
        if (response.errorCode !== 0) throw StrataError.fromCode(response.errorCode, `Heartbeat of group '${request.groupId}': ${response.errorMessage}`);
      } catch (error) {
        if (this.stopped) return;
        const code = codeOf(error);
        if (code !== undefined && LOSE_CODES.has(code)) {
          if (incarnation === this.incarnation) await this.loseAll();
          continue;
        }
        if ((code !== undefined && COORDINATOR_RETRY_CODES.has(code)) || (code === undefined && isRetriable(error))) {
          if (code !== undefined && coordinatorMoved(code)) this.options.coordinator.invalidate();
          // A timed-out heartbeat may still be held on the lane: later ones would queue behind it.
          if (code === ERRORS.REQUEST_TIMED_OUT.code) await this.options.pool.closeLane(this.options.lane);
          if (!this.joinedOnce && failures >= this.options.retry.retries) {
            this.stop(error as Error);
            return;
          }
          await this.pause(backoffMs(Math.min(failures++, 10), this.options.retry));
          continue;
        }
        const final = error instanceof Error ? error : new StrataError('UNKNOWN_SERVER_ERROR', String(error));
        this.stop(final);
        await this.loseAll();
        this.host.fail(final);
        return;
      }
      failures = 0;
      if (this.stopped) return;
      if (incarnation !== this.incarnation) continue;
      this.answered(response, sentMs);
      // Pacing. While reconciling, the coordinator answers at once: space heartbeats by the interval,
      // or send one as soon as a reconciliation step is done. An answer that came early and changed
      // nothing (a coordinator that does not hold heartbeats) also waits out the interval.
      const assignment = JSON.stringify(response.assignment);
      const unchanged = previous !== undefined && previous.epoch === response.memberEpoch && previous.assignment === assignment;
      previous = { epoch: response.memberEpoch, assignment };
      if (this.reconciling !== undefined || (unchanged && request.maxWaitMs > 0)) {
        await this.pause(sentMs + this.intervalMs - this.now());
      }
    }
  }

  /** Waits `ms` or until `wake()`, whichever comes first. */
  private async pause(ms: number): Promise<void> {
    if (this.woken || this.stopped) {
      this.woken = false;
      return;
    }
    if (ms <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.woken = false;
  }

  private answered(response: ConsumerGroupHeartbeatResponse, sentMs: number): void {
    this.memberId = response.memberId;
    this.memberEpoch = response.memberEpoch;
    if (response.heartbeatIntervalMs > 0) this.brokerIntervalMs = response.heartbeatIntervalMs;
    const sessionMs = response.sessionTimeoutMs > 0 ? response.sessionTimeoutMs : this.options.sessionTimeoutMs;
    this.armSessionTimer(sentMs + sessionMs);
    this.target = fromTopicPartitions(response.assignment);
    this.targetKeys = new Set(this.target.map((tp) => topicPartitionKey(tp.topic, tp.partition)));
    if (!this.joinedOnce) {
      this.joinedOnce = true;
      this.joined.resolve();
    }
    for (const waiter of this.heartbeatWaiters.splice(0)) waiter.resolve();
    this.reconcile();
  }

  /** Once `deadlineMs` passes with no newer answer, the coordinator has removed us: lose everything. */
  private armSessionTimer(deadlineMs: number): void {
    if (this.sessionTimer !== undefined) clearTimeout(this.sessionTimer);
    this.sessionTimer = setTimeout(() => {
      this.sessionTimer = undefined;
      if (!this.stopped) void this.loseAll().then(() => this.wake());
    }, Math.max(0, deadlineMs - this.now()));
  }

  /** Drops every partition without committing and becomes a joining member again. */
  private async loseAll(): Promise<void> {
    this.incarnation++;
    this.memberId = '';
    this.memberEpoch = MEMBER_EPOCH_JOIN;
    this.target = undefined;
    this.targetKeys = new Set();
    if (this.sessionTimer !== undefined) clearTimeout(this.sessionTimer);
    this.sessionTimer = undefined;
    const owned = this.host.owned();
    if (owned.length > 0) await this.host.lose(owned);
  }

  // -------------------------------------------------------------------------------------------
  // Reconciliation

  private reconcile(): void {
    if (this.reconciling !== undefined || this.stopped || this.target === undefined) return;
    const { assigned, revoked } = diffAssignment(this.host.owned(), this.target);
    if (assigned.length === 0 && revoked.length === 0) return;
    const running = this.reconcileSteps().finally(() => {
      if (this.reconciling === running) this.reconciling = undefined;
      this.wake();
    });
    this.reconciling = running;
  }

  private async reconcileSteps(): Promise<void> {
    for (let failures = 0; !this.stopped && this.target !== undefined; ) {
      const incarnation = this.incarnation;
      const { assigned, revoked } = diffAssignment(this.host.owned(), this.target);
      if (assigned.length === 0 && revoked.length === 0) return;
      try {
        if (revoked.length > 0) {
          await this.host.revoke(revoked);
          this.wake();
        }
        if (assigned.length > 0 && incarnation === this.incarnation && !this.stopped) {
          await this.host.assign(assigned, (tp) => incarnation === this.incarnation && !this.stopped && this.targetKeys.has(topicPartitionKey(tp.topic, tp.partition)));
          this.wake();
        }
        failures = 0;
      } catch (error) {
        // Only fetching the committed offsets of new partitions fails here (the host reports its
        // callbacks' errors itself). Retriable: try again after a backoff; anything else is final.
        if (this.stopped) return;
        if (!isRetriable(error)) {
          const final = error instanceof Error ? error : new StrataError('UNKNOWN_SERVER_ERROR', String(error));
          this.stop(final);
          await this.loseAll();
          this.host.fail(final);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, backoffMs(Math.min(failures++, 10), this.options.retry)));
      }
    }
  }
}

/** `promise`, or a REQUEST_TIMED_OUT rejection after `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StrataError('REQUEST_TIMED_OUT', `Gave up after ${ms} ms.`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
