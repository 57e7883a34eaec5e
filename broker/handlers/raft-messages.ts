/**
 * RaftMessages (api 1000): a peer broker's Raft messages for the groups this broker hosts. The batch
 * is decoded and handed to the broker's Raft host (`services.raft`), which steps each group; a broker
 * that hosts no Raft groups drops it. One-way: the handler never answers (Raft's answers go back as
 * RaftMessages requests of this broker's own links). A batch that does not decode (a message with
 * no body) fails as INVALID_REQUEST, an answer the sending link ignores.
 */
import { StrataError, type RaftMessagesRequest, type RaftMessagesResponse } from '../../client/protocol/index.js';
import type { RaftBatch } from '../../replication/index.js';
import { decodeRaftBatch } from '../raft-batch-codec.js';
import type { RequestContext } from '../request-context.js';

export async function handleRaftMessages(request: RaftMessagesRequest, context: RequestContext): Promise<RaftMessagesResponse | undefined> {
  const raft = context.services.raft;
  if (raft === undefined) return undefined;
  let batch: RaftBatch;
  try {
    batch = decodeRaftBatch(request);
  } catch (error) {
    throw new StrataError('INVALID_REQUEST', error instanceof Error ? error.message : String(error), { cause: error });
  }
  raft.deliver(batch);
  return undefined;
}
