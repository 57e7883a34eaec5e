/**
 * `strata cluster status`: what every broker says about the cluster, merged into one picture and
 * printed. It asks one broker's `GET /v1/cluster` (the first of `--http` that answers) for the list of
 * brokers, then asks each of them, in parallel, each bounded by `BROKER_ANSWER_TIMEOUT_MS`: a broker
 * that does not answer in time, refuses, or answers garbage is shown as down with the reason, never
 * a crash or a hang.
 *
 * Merging (`summarizeCluster`) and printing (`formatClusterStatus`) are pure functions over the
 * answers, so they are tested on fixed JSON without a broker:
 *   - the metadata leader and term are the ones of the answer with the highest term (the freshest);
 *   - a partition is described by its leader's own entry (the only one with followers and their lag)
 *     when the leader answered; otherwise by the entry with the highest leader epoch, and its in-sync
 *     replicas are unknown (null; `?` in the table);
 *   - in-sync replicas are the leader plus the followers whose lag is 0, as the leader reports them.
 */
import { isInternalTopic } from '../index.js';
import { columns } from './text-columns.js';
import { fetchClusterView, type ClusterPartition, type ClusterView } from './cluster-view.js';

/** The longest a status waits for any one broker (the brief's bound: a status never hangs). */
export const BROKER_ANSWER_TIMEOUT_MS = 2000;

/** What one broker answered: its view, or why there is none. */
export type BrokerAnswer = { readonly view: ClusterView } | { readonly problem: string };

export interface BrokerStatus {
  readonly nodeId: number;
  /** Protocol address, `host:port`. */
  readonly address: string;
  /** HTTP address, or null when the broker has no HTTP listener (then it cannot be asked). */
  readonly http: string | null;
  readonly state: 'up' | 'down' | 'unknown';
  /** Why it is down or unknown. */
  readonly problem: string | null;
}

export interface PartitionStatus {
  readonly topic: string;
  readonly partition: number;
  readonly leader: number | null;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  /** Leader plus followers at lag 0, as the leader reports; null when the leader did not answer. */
  readonly isr: readonly number[] | null;
  readonly highWatermark: number;
  readonly logEndOffset: number;
  readonly followers: ReadonlyArray<{ readonly nodeId: number; readonly lag: number }>;
  /** The broker whose entry this is. */
  readonly reportedBy: number;
}

export interface ClusterStatus {
  readonly metadataLeader: number | null;
  readonly metadataTerm: number;
  readonly brokers: readonly BrokerStatus[];
  readonly partitions: readonly PartitionStatus[];
}

/**
 * Merges the answers (by node id) of the brokers that `first` lists, and of any other broker an
 * answer lists, into one status. Pure.
 */
export function summarizeCluster(first: ClusterView, answers: ReadonlyMap<number, BrokerAnswer>): ClusterStatus {
  const views = [first, ...[...answers.values()].flatMap((a) => ('view' in a ? [a.view] : []))];
  const listed = new Map<number, ClusterView['brokers'][number]>();
  for (const view of views) for (const broker of view.brokers) if (!listed.has(broker.nodeId)) listed.set(broker.nodeId, broker);

  const brokers: BrokerStatus[] = [...listed.values()]
    .sort((a, b) => a.nodeId - b.nodeId)
    .map((broker) => {
      const http = broker.httpHost === null || broker.httpPort === null ? null : `${broker.httpHost}:${broker.httpPort}`;
      const answer = answers.get(broker.nodeId);
      const base = { nodeId: broker.nodeId, address: `${broker.host}:${broker.port}`, http };
      if (answer === undefined) return { ...base, state: 'unknown', problem: http === null ? 'no HTTP listener' : 'not asked' };
      return 'view' in answer ? { ...base, state: 'up', problem: null } : { ...base, state: 'down', problem: answer.problem };
    });

  // The freshest metadata view: highest term, and among equals one that knows a leader.
  const freshest = views.reduce((best, view) =>
    view.metadataTerm > best.metadataTerm || (view.metadataTerm === best.metadataTerm && best.metadataLeader === null && view.metadataLeader !== null) ? view : best,
  );

  const entries = new Map<string, { entry: ClusterPartition; from: number }>();
  for (const view of views) {
    for (const entry of view.partitions) {
      const key = `${entry.topic}\u0000${entry.partition}`;
      const held = entries.get(key);
      if (held === undefined || better(entry, held.entry)) entries.set(key, { entry, from: view.nodeId });
    }
  }
  const partitions = [...entries.values()]
    .map(({ entry, from }): PartitionStatus => ({
      topic: entry.topic,
      partition: entry.partition,
      leader: entry.leader,
      leaderEpoch: entry.leaderEpoch,
      replicas: entry.replicas,
      isr: entry.isLeaderHere ? [from, ...entry.followers.filter((f) => f.lag === 0).map((f) => f.nodeId)] : null,
      highWatermark: entry.highWatermark,
      logEndOffset: entry.logEndOffset,
      followers: entry.followers.map((f) => ({ nodeId: f.nodeId, lag: f.lag })),
      reportedBy: from,
    }))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return { metadataLeader: freshest.metadataLeader, metadataTerm: freshest.metadataTerm, brokers, partitions };
}

/** A leader's own entry beats any other; then the newer leader epoch. */
function better(candidate: ClusterPartition, held: ClusterPartition): boolean {
  if (candidate.isLeaderHere !== held.isLeaderHere) return candidate.isLeaderHere;
  return candidate.leaderEpoch > held.leaderEpoch;
}

/**
 * The status without the partitions of internal topics (`__consumer_offsets`: 50 partitions that would
 * bury a new cluster's own), and how many were left out. Pure.
 */
export function withoutInternalTopics(status: ClusterStatus): { status: ClusterStatus; hidden: number } {
  const partitions = status.partitions.filter((p) => !isInternalTopic(p.topic));
  return { status: { ...status, partitions }, hidden: status.partitions.length - partitions.length };
}

/**
 * For people: the metadata leader, a row per broker, then a row per partition; `hiddenInternal`
 * partitions of internal topics left out are said in a last line.
 */
export function formatClusterStatus(status: ClusterStatus, hiddenInternal = 0): string {
  return [formatStatusTables(status), ...(hiddenInternal === 0 ? [] : ['', `(${hiddenInternal} partitions of internal topics not shown; --internal shows them)`])].join('\n');
}

function formatStatusTables(status: ClusterStatus): string {
  const up = status.brokers.filter((b) => b.state === 'up').length;
  const leader = status.metadataLeader === null ? 'none' : String(status.metadataLeader);
  const lines = [`cluster: ${status.brokers.length} broker${status.brokers.length === 1 ? '' : 's'}, ${up} up; metadata leader ${leader} (term ${status.metadataTerm})`, ''];
  lines.push(
    ...columns(
      ['BROKER', 'ADDRESS', 'HTTP', 'STATE'],
      status.brokers.map((b) => [String(b.nodeId), b.address, b.http ?? '-', b.problem === null ? b.state : `${b.state} (${b.problem})`]),
    ),
  );
  if (status.partitions.length === 0) return [...lines, '', 'no partitions'].join('\n');
  lines.push('');
  lines.push(
    ...columns(
      ['TOPIC', 'PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'HIGH-WATERMARK', 'LOG-END', 'FOLLOWER-LAG'],
      status.partitions.map((p) => [
        p.topic,
        String(p.partition),
        p.leader === null ? 'none' : String(p.leader),
        String(p.leaderEpoch),
        p.replicas.join(','),
        p.isr === null ? '?' : p.isr.join(','),
        String(p.highWatermark),
        String(p.logEndOffset),
        p.isr === null ? '?' : p.followers.length === 0 ? '-' : p.followers.map((f) => `${f.nodeId}:${f.lag}`).join(' '),
      ]),
    ),
  );
  return lines.join('\n');
}

/**
 * Asks the first of `httpAddresses` that answers, then every broker it lists (in parallel, each
 * bounded by `timeoutMs`). Throws only when none of `httpAddresses` answers.
 */
export async function collectClusterStatus(httpAddresses: readonly string[], timeoutMs = BROKER_ANSWER_TIMEOUT_MS): Promise<ClusterStatus> {
  const problems: string[] = [];
  let first: ClusterView | undefined;
  for (const address of httpAddresses) {
    try {
      first = await fetchClusterView(address, timeoutMs);
      break;
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (first === undefined) throw new Error(`no broker answered GET /v1/cluster: ${problems.join('; ')}`);
  const answers = new Map<number, BrokerAnswer>();
  await Promise.all(
    first.brokers.map(async (broker) => {
      if (broker.httpHost === null || broker.httpPort === null) return;
      try {
        answers.set(broker.nodeId, { view: await fetchClusterView(`${broker.httpHost}:${broker.httpPort}`, timeoutMs) });
      } catch (error) {
        answers.set(broker.nodeId, { problem: (error as Error).message.replace(/^[^ ]+: /, '') });
      }
    }),
  );
  return summarizeCluster(first, answers);
}
