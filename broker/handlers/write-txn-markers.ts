/**
 * WriteTxnMarkers (api 27, inter-broker): another broker's transaction coordinator asks this broker
 * to append commit or abort markers to partitions it leads (`txn/append-marker.ts`). Each partition
 * answers on its own once its marker is durable (acks -1): NOT_LEADER_OR_FOLLOWER (the coordinator
 * finds the leader and retries), UNKNOWN_TOPIC_OR_PARTITION, INVALID_PRODUCER_EPOCH (a marker older
 * than the producer epoch the partition holds), INVALID_REQUEST for a marker that cannot be one
 * (negative id or epoch) or for an internal topic other than `__consumer_offsets`.
 *
 * Trust: the protocol does not tell a broker from a client, so a client may send this too. The
 * partition's rules still hold (a marker older than the producer's epoch is refused, a marker
 * without an open transaction changes nothing but its offset), yet a forged marker can end a live
 * producer's transaction early. Until peers authenticate (as for RaftMessages), the network the
 * brokers listen on must be trusted; authentication will restrict this API to brokers.
 */
import type { TxnMarker, WriteTxnMarkersRequest, WriteTxnMarkersResponse } from '../../client/protocol/index.js';
import { errorResult, namedError, type ErrorResult } from '../error-result.js';
import { isInternalTopic, OFFSETS_TOPIC } from '../internal-topics.js';
import { PRODUCER_EPOCH_MAX } from '../producer-id-manager.js';
import type { RequestContext } from '../request-context.js';
import { appendMarker } from '../txn/append-marker.js';
import { TXN_MARKERS_ANSWER_TIMEOUT_MS, WRITE_TXN_MARKERS_PARTITIONS_MAX } from '../limits.js';

export async function handleWriteTxnMarkers(request: WriteTxnMarkersRequest, context: RequestContext): Promise<WriteTxnMarkersResponse> {
  const named = request.markers.reduce((n, m) => n + m.topics.reduce((k, t) => k + t.partitions.length, 0), 0);
  const tooMany = named > WRITE_TXN_MARKERS_PARTITIONS_MAX ? namedError('INVALID_REQUEST', `${named} partitions, limit ${WRITE_TXN_MARKERS_PARTITIONS_MAX}`) : undefined;
  const markers = await Promise.all(
    request.markers.map(async (marker) => ({
      producerId: marker.producerId,
      topics: await Promise.all(
        marker.topics.map(async (topic) => ({
          name: topic.name,
          partitions: await Promise.all(
            topic.partitions.map(async (partition) => {
              const result = tooMany ?? (await writeOne(marker, topic.name, partition, context));
              return { partition, errorCode: result?.errorCode ?? 0, errorMessage: result?.errorMessage ?? '' };
            }),
          ),
        })),
      ),
    })),
  );
  return { markers };
}

async function writeOne(marker: TxnMarker, topic: string, index: number, context: RequestContext): Promise<ErrorResult | undefined> {
  const { producerId, producerEpoch, coordinatorEpoch } = marker;
  if (!Number.isSafeInteger(producerId) || producerId < 0 || !Number.isInteger(producerEpoch) || producerEpoch < 0 || producerEpoch > PRODUCER_EPOCH_MAX || !Number.isInteger(coordinatorEpoch) || coordinatorEpoch < 0) {
    return namedError('INVALID_REQUEST', `marker for producer ${producerId} epoch ${producerEpoch} (coordinator epoch ${coordinatorEpoch}): ids and epochs are >= 0`);
  }
  // Markers on the broker's own state topics would be read back as state; only the offsets topic takes them.
  if (isInternalTopic(topic) && topic !== OFFSETS_TOPIC) return namedError('INVALID_REQUEST', `${topic} takes no transaction markers`);
  const partition = context.services.partitions.partition(topic, index);
  if (partition === undefined) return namedError('UNKNOWN_TOPIC_OR_PARTITION', `${topic}-${index}`);
  try {
    await appendMarker(partition, { producerId, producerEpoch, commit: marker.committed, coordinatorEpoch }, context.services.groups, TXN_MARKERS_ANSWER_TIMEOUT_MS, Date.now());
    return undefined;
  } catch (error) {
    return errorResult(error, partition.logger.child({ producerId }), 'write transaction marker');
  }
}
