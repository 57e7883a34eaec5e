/**
 * Where a new topic's replicas go: Kafka's rack-unaware assignment
 * (`AdminUtils.assignReplicasToBrokersRackUnaware`, with `start` as its fixed start index).
 *
 * With n brokers, partition p's first replica (its preferred leader) is broker (p + start) mod n;
 * its followers sit at the distances 1 + (shift + j) mod (n - 1), j = 0..rf-2, from the first,
 * where the shift starts at `start` and grows by one after every n partitions. So:
 * - every partition has rf distinct brokers (the distances are distinct, and never 0 or n);
 * - preferred leaders go round-robin: per broker they differ by at most 1;
 * - within each run of n partitions (same shift) every broker holds exactly rf replicas, so when
 *   the partition count is a multiple of n every broker holds the same number. In general the
 *   last r = partitions mod n partitions add 0 to min(rf, r) replicas per broker, so counts differ
 *   by at most min(rf, r);
 * - shifting the followers after each run keeps the partitions a broker leads from always having
 *   their followers on the next brokers in line, so when it fails its leaderships spread over the
 *   others instead of all falling to one.
 *
 * The controller passes a `start` that moves on with every topic (the partitions already placed),
 * so single-partition topics do not all lead on the same broker. Pure function.
 */

/** The replicas of each of `partitions` partitions over `brokers` (used in the order given). */
export function placeReplicas(brokers: readonly number[], partitions: number, replicationFactor: number, start: number): number[][] {
  const n = brokers.length;
  if (n === 0) throw new RangeError('replica placement needs at least one broker');
  if (new Set(brokers).size !== n) throw new RangeError(`replica placement brokers must be distinct, got ${JSON.stringify(brokers)}`);
  if (!Number.isSafeInteger(partitions) || partitions < 0) throw new RangeError(`partitions must be a non-negative integer, got ${partitions}`);
  if (!Number.isSafeInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > n) {
    throw new RangeError(`replication factor must be from 1 to the ${n} brokers, got ${replicationFactor}`);
  }
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`start must be a non-negative integer, got ${start}`);
  const assignment: number[][] = [];
  let shift = start;
  for (let p = 0; p < partitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    const first = (p + start) % n;
    const replicas = [brokers[first] as number];
    for (let j = 0; j < replicationFactor - 1; j++) replicas.push(brokers[(first + 1 + ((shift + j) % (n - 1))) % n] as number);
    assignment.push(replicas);
  }
  return assignment;
}
