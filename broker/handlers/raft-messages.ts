/**
 * RaftMessages (api 1000): a peer broker's Raft messages for the groups this broker hosts. The batch
 * is decoded and handed to the broker's Raft host (`services.raft`), which steps each group; a broker
 * that hosts no Raft groups drops it. One-way: the handler never answers (Raft's answers go back as
 * RaftMessages requests of this broker's own links).
 */
import type { RaftMessagesRequest, RaftMessagesResponse } from '../../client/protocol/index.js';
import { decodeRaftBatch } from '../raft-batch-codec.js';
import type { RequestContext } from '../request-context.js';

export async function handleRaftMessages(request: RaftMessagesRequest, context: RequestContext): Promise<RaftMessagesResponse | undefined> {
  context.services.raft?.deliver(decodeRaftBatch(request));
  return undefined;
}
