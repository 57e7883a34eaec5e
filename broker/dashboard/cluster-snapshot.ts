/**
 * The dashboard's picture of the whole cluster, built by the broker that serves the page: its own
 * view (`broker-view.ts`) and every other registered broker's, asked over HTTP
 * (`GET /v1/dashboard/broker`, each bounded by `PEER_ANSWER_TIMEOUT_MS`), merged by `mergeSnapshot`,
 * a pure function:
 *
 * - a broker that answered is up; one that refused, timed out or answered garbage is down, with the
 *   reason; one registered without an HTTP listener is unknown. The page never breaks on a dead peer.
 * - the metadata leader and term are those of the answer with the highest term (the freshest);
 * - a partition is described by its leader's own entry (the only one whose in-sync replicas and
 *   traffic are the leader's); if its leader did not answer, by the entry with the highest leader
 *   epoch, its in-sync replicas unknown (null); if no replica answered, offsets unknown (null).
 *   Topics are the ones the serving broker's metadata lists, internal ones left out;
 * - a group's lag is recomputed from the merged high watermarks (a coordinator may be a follower of
 *   the partition, whose own high watermark trails): high watermark − committed offset, or − log
 *   start when nothing is committed.
 */
import { isInternalTopic } from '../internal-topics.js';
import type { BrokerView, GroupMemberView, PartitionView } from './broker-view.js';
import type { LagSample, TrafficSample } from './traffic-sampler.js';

/** The longest the snapshot waits for any one broker's view. */
export const PEER_ANSWER_TIMEOUT_MS = 1500;

export type PeerAnswer = { readonly view: BrokerView } | { readonly problem: string };

export interface RegisteredBroker {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly httpHost: string | null;
  readonly httpPort: number | null;
}

export interface BrokerState {
  readonly nodeId: number;
  readonly address: string;
  readonly http: string | null;
  readonly state: 'up' | 'down' | 'unknown';
  readonly problem: string | null;
  readonly partitionsLed: number | null;
  readonly diskBytes: number | null;
}

export interface PartitionState {
  readonly partition: number;
  readonly leader: number | null;
  readonly leaderEpoch: number | null;
  readonly replicas: readonly number[];
  readonly isr: readonly number[] | null;
  readonly logStartOffset: number | null;
  readonly highWatermark: number | null;
  readonly logEndOffset: number | null;
  readonly sizeBytes: number | null;
  readonly status: 'online' | 'failed' | 'offline';
  readonly reportedBy: number | null;
  readonly traffic: readonly TrafficSample[];
}

export interface TopicState {
  readonly name: string;
  readonly partitions: readonly PartitionState[];
  /** The partitions' traffic summed, aligned on the newest sample. */
  readonly traffic: readonly TrafficSample[];
}

export interface GroupState {
  readonly groupId: string;
  readonly state: string;
  readonly coordinator: number;
  readonly members: readonly (GroupMemberView & { readonly assignment: readonly string[] })[];
  readonly partitions: readonly {
    readonly topic: string;
    readonly partition: number;
    readonly member: string | null;
    readonly committedOffset: number;
    readonly highWatermark: number | null;
    readonly lag: number | null;
  }[];
  readonly totalLag: number;
  readonly lagHistory: readonly LagSample[];
}

export interface DashboardSnapshot {
  readonly servedBy: number;
  readonly generatedAtMs: number;
  readonly metadataLeader: number | null;
  readonly metadataTerm: number;
  readonly brokers: readonly BrokerState[];
  readonly topics: readonly TopicState[];
  readonly groups: readonly GroupState[];
}

export interface SnapshotInput {
  readonly servedBy: number;
  readonly generatedAtMs: number;
  /** The serving broker's registered brokers, by node id. */
  readonly brokers: readonly RegisteredBroker[];
  /** The serving broker's topics and their partition counts and replicas. */
  readonly topics: readonly { readonly name: string; readonly replicas: readonly (readonly number[])[] }[];
  /** What each broker answered, by node id (the serving broker's own view included). */
  readonly answers: ReadonlyMap<number, PeerAnswer>;
}

export function mergeSnapshot(input: SnapshotInput): DashboardSnapshot {
  const views = [...input.answers.values()].flatMap((a) => ('view' in a ? [a.view] : []));
  const freshest = views.reduce<BrokerView | undefined>((best, v) => (best === undefined || v.metadataTerm > best.metadataTerm ? v : best), undefined);

  const entries = new Map<string, { view: BrokerView; entry: PartitionView }[]>();
  for (const view of views) {
    for (const entry of view.partitions) {
      const key = `${entry.topic}\u0000${entry.partition}`;
      entries.set(key, [...(entries.get(key) ?? []), { view, entry }]);
    }
  }
  const led = new Map<number, number>();
  const partitionState = (topic: string, partition: number, replicas: readonly number[]): PartitionState => {
    const candidates = entries.get(`${topic}\u0000${partition}`) ?? [];
    const byEpoch = (a: { entry: PartitionView }, b: { entry: PartitionView }) => b.entry.leaderEpoch - a.entry.leaderEpoch;
    const leader = candidates.filter((c) => c.entry.isLeader).sort(byEpoch)[0];
    const chosen = leader ?? [...candidates].sort(byEpoch)[0];
    if (chosen === undefined) {
      return { partition, leader: null, leaderEpoch: null, replicas, isr: null, logStartOffset: null, highWatermark: null, logEndOffset: null, sizeBytes: null, status: 'offline', reportedBy: null, traffic: [] };
    }
    const { entry } = chosen;
    return {
      partition,
      leader: entry.leader,
      leaderEpoch: entry.leaderEpoch,
      replicas: entry.replicas,
      isr: leader === undefined ? null : entry.isr,
      logStartOffset: entry.logStartOffset,
      highWatermark: entry.highWatermark,
      logEndOffset: entry.logEndOffset,
      sizeBytes: entry.sizeBytes,
      status: entry.status,
      reportedBy: chosen.view.nodeId,
      traffic: entry.traffic,
    };
  };
  for (const view of views) led.set(view.nodeId, view.partitions.filter((p) => p.isLeader).length);

  const topics = input.topics
    .filter((t) => !isInternalTopic(t.name))
    .map((t): TopicState => {
      const partitions = t.replicas.map((replicas, index) => partitionState(t.name, index, replicas));
      return { name: t.name, partitions, traffic: sumTraffic(partitions.map((p) => p.traffic)) };
    })
    .sort((a, b) => compare(a.name, b.name));

  const highWatermarks = new Map<string, { highWatermark: number | null; logStartOffset: number | null }>();
  for (const t of topics) for (const p of t.partitions) highWatermarks.set(`${t.name}\u0000${p.partition}`, p);
  const groups = new Map<string, GroupState>();
  for (const view of views) {
    for (const group of view.groups) {
      const current = groups.get(group.groupId);
      // During a coordinator move two brokers may list a group: keep the one with more members.
      if (current !== undefined && current.members.length >= group.members.length) continue;
      const partitions = group.partitions.map((row) => {
        const merged = highWatermarks.get(`${row.topic}\u0000${row.partition}`);
        const highWatermark = merged?.highWatermark ?? row.highWatermark;
        const start = merged?.logStartOffset ?? row.logStartOffset ?? 0;
        const lag = highWatermark === null ? null : Math.max(0, highWatermark - (row.committedOffset >= 0 ? row.committedOffset : start));
        return { topic: row.topic, partition: row.partition, member: row.member, committedOffset: row.committedOffset, highWatermark, lag };
      });
      const members = group.members.map((m) => ({
        ...m,
        assignment: partitions.filter((p) => p.member === m.memberId).map((p) => `${p.topic}-${p.partition}`),
      }));
      groups.set(group.groupId, {
        groupId: group.groupId,
        state: group.state,
        coordinator: view.nodeId,
        members,
        partitions,
        totalLag: partitions.reduce((sum, p) => sum + (p.lag ?? 0), 0),
        lagHistory: group.lagHistory,
      });
    }
  }

  const brokers = [...input.brokers]
    .sort((a, b) => a.nodeId - b.nodeId)
    .map((b): BrokerState => {
      const answer = input.answers.get(b.nodeId);
      const http = b.httpHost === null || b.httpPort === null ? null : `${b.httpHost}:${b.httpPort}`;
      const base = { nodeId: b.nodeId, address: `${b.host}:${b.port}`, http };
      if (answer === undefined) return { ...base, state: 'unknown', problem: 'no HTTP listener to ask', partitionsLed: null, diskBytes: null };
      if ('problem' in answer) return { ...base, state: 'down', problem: answer.problem, partitionsLed: null, diskBytes: null };
      return { ...base, state: 'up', problem: null, partitionsLed: led.get(b.nodeId) ?? 0, diskBytes: answer.view.diskBytes };
    });

  return {
    servedBy: input.servedBy,
    generatedAtMs: input.generatedAtMs,
    metadataLeader: freshest?.metadataLeader ?? null,
    metadataTerm: freshest?.metadataTerm ?? 0,
    brokers,
    topics,
    groups: [...groups.values()].sort((a, b) => compare(a.groupId, b.groupId)),
  };
}

/** Sums series sample by sample, aligned on their newest sample; the result is as long as the longest. */
export function sumTraffic(series: readonly (readonly TrafficSample[])[]): TrafficSample[] {
  const length = Math.max(0, ...series.map((s) => s.length));
  return Array.from({ length }, (_, i) => {
    const fromEnd = length - i;
    const samples = series.map((s) => s[s.length - fromEnd]).filter((s) => s !== undefined);
    return {
      atMs: Math.max(...samples.map((s) => s.atMs)),
      producedPerSec: samples.reduce((sum, s) => sum + s.producedPerSec, 0),
      fetchedPerSec: samples.reduce((sum, s) => sum + s.fetchedPerSec, 0),
      fetchedBytesPerSec: samples.reduce((sum, s) => sum + s.fetchedBytesPerSec, 0),
    };
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Asks one broker for its view; never throws: a failure is the answer's `problem`. */
export async function askPeer(http: string, nodeId: number, signal: AbortSignal): Promise<PeerAnswer> {
  try {
    const response = await fetch(`http://${http}/v1/dashboard/broker`, { signal: AbortSignal.any([signal, AbortSignal.timeout(PEER_ANSWER_TIMEOUT_MS)]) });
    if (!response.ok) return { problem: `answered HTTP ${response.status}` };
    const view = (await response.json()) as BrokerView;
    if (typeof view !== 'object' || view === null || view.nodeId !== nodeId || !Array.isArray(view.partitions) || !Array.isArray(view.groups)) {
      return { problem: `answered something other than broker ${nodeId}'s view` };
    }
    return { view };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    if ((error as Error).name === 'TimeoutError') return { problem: `no answer within ${PEER_ANSWER_TIMEOUT_MS} ms` };
    return { problem: cause === 'ECONNREFUSED' ? 'connection refused' : (cause ?? (error as Error).message) };
  }
}
