/**
 * Appends one transaction marker (a commit or abort control batch) to a partition this broker leads:
 * the one path for the coordinator's own partitions and for WriteTxnMarkers from another broker's
 * coordinator. It is appended with origin 'coordinator' and acks -1, so it is answered once the
 * partition holds it as durably as any acknowledged batch; a marker older than the producer's epoch
 * on the partition is refused by the log (INVALID_PRODUCER_EPOCH).
 *
 * On a `__consumer_offsets` partition the marker also settles the offsets the producer committed in
 * its transaction (TxnOffsetCommit): applied on commit, dropped on abort, once the marker is durable.
 */
import { encodeTxnMarkerBatch } from '../../log/index.js';
import type { GroupCoordinator } from '../group/group-coordinator.js';
import { OFFSETS_TOPIC } from '../internal-topics.js';
import type { Partition } from '../partition.js';
import type { TxnMarkerSpec } from './marker-writer.js';

export async function appendMarker(partition: Partition, marker: TxnMarkerSpec, groups: GroupCoordinator, timeoutMs: number, now: number): Promise<void> {
  const batch = encodeTxnMarkerBatch({ producerId: marker.producerId, producerEpoch: marker.producerEpoch, commit: marker.commit, coordinatorEpoch: marker.coordinatorEpoch }, now);
  await partition.appendAsLeader(batch, -1, timeoutMs, 'coordinator');
  if (partition.topic === OFFSETS_TOPIC) groups.completeTransaction(partition.index, marker.producerId, marker.commit);
}
