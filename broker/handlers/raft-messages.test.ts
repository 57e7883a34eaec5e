// Method: calls the RaftMessages handler with a stub context whose services hold (or lack) a Raft
// host, and checks that the decoded batch is delivered, that nothing is ever answered, and that a
// batch that does not decode fails as INVALID_REQUEST.
import { describe, expect, it } from 'vitest';
import { ERRORS, StrataError, type RaftMessagesRequest } from '../../client/protocol/index.js';
import type { RaftBatch } from '../../replication/index.js';
import type { BrokerServices, RequestContext } from '../request-context.js';
import { handleRaftMessages } from './raft-messages.js';

function contextWith(raft: BrokerServices['raft']): RequestContext {
  const services = (raft === undefined ? {} : { raft }) as BrokerServices;
  return { services } as RequestContext;
}

const request: RaftMessagesRequest = {
  from: 2,
  to: 1,
  beats: [{ group: 'orders-3', term: 5, highWatermark: 17 }],
  answers: [{ group: '__cluster_metadata', term: 2 }],
  messages: [{ group: 'orders-4', term: 5, voteResponse: { granted: true } }],
};

describe('RaftMessages handler', () => {
  it('delivers the decoded batch to services.raft and answers nothing', async () => {
    const delivered: RaftBatch[] = [];
    const answer = await handleRaftMessages(request, contextWith({ deliver: (batch) => delivered.push(batch) }));
    expect(answer).toBeUndefined();
    expect(delivered).toEqual([
      {
        from: 2,
        to: 1,
        heartbeats: { beats: [{ group: 'orders-3', term: 5, highWatermark: 17 }], answers: [{ group: '__cluster_metadata', term: 2 }] },
        messages: [{ group: 'orders-4', message: { type: 'vote-response', from: 2, to: 1, term: 5, granted: true } }],
      },
    ]);
  });

  it('drops the batch on a broker that hosts no Raft groups', async () => {
    expect(await handleRaftMessages(request, contextWith(undefined))).toBeUndefined();
  });

  it('fails a batch that does not decode as INVALID_REQUEST, delivering nothing', async () => {
    const delivered: RaftBatch[] = [];
    const bad: RaftMessagesRequest = { ...request, messages: [{ group: 'orders-4', term: 5 }] };
    const failure = handleRaftMessages(bad, contextWith({ deliver: (batch) => delivered.push(batch) }));
    await expect(failure).rejects.toBeInstanceOf(StrataError);
    await expect(failure).rejects.toMatchObject({ code: ERRORS.INVALID_REQUEST.code });
    expect(delivered).toEqual([]);
  });
});
