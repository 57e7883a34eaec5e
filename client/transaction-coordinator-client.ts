/**
 * The way to one transactional id's transaction coordinator: FindCoordinator (key type 1) to learn
 * which broker it is, a connection to it, and the retry rule of every transactional request.
 *
 * - The coordinator found is remembered until an error says it moved (NOT_COORDINATOR,
 *   COORDINATOR_NOT_AVAILABLE, a lost connection, a timeout); the next attempt looks it up again.
 * - Retried with the client's backoff: the coordinator errors of `group-coordinator-client.ts`
 *   (moved, loading, shutting down) and CONCURRENT_TRANSACTIONS (the previous transaction of this id
 *   is still being completed). REQUEST_TIMED_OUT is among them: an EndTxn whose markers were not all
 *   written in time is sent again, and the coordinator answers a transaction that completed the
 *   same way with success.
 * - Requests travel on a lane of their own (`TRANSACTION_LANE`): EndTxn waits for markers, and must
 *   not hold up the client's other requests to that broker.
 */
import type { Cluster, CoordinatorAddress } from './cluster.js';
import { codeOf, COORDINATOR_RETRY_CODES, coordinatorMoved } from './group-coordinator-client.js';
import { ERRORS, StrataError, type ApiKey, type RequestOf, type ResponseOf } from './protocol/index.js';
import { backoffMs, isRetriable, sleep } from './retry.js';

export const TRANSACTION_LANE = 'transaction';

const TRANSACTION_RETRY_CODES: ReadonlySet<number> = new Set([...COORDINATOR_RETRY_CODES, ERRORS.CONCURRENT_TRANSACTIONS.code]);

export class TransactionCoordinatorClient {
  readonly transactionalId: string;
  private readonly cluster: Cluster;
  private found: Promise<CoordinatorAddress> | undefined;

  constructor(cluster: Cluster, transactionalId: string) {
    this.cluster = cluster;
    this.transactionalId = transactionalId;
  }

  private coordinator(): Promise<CoordinatorAddress> {
    if (this.found === undefined) {
      const lookup = this.cluster.findTransactionCoordinator(this.transactionalId);
      this.found = lookup;
      lookup.catch(() => {
        if (this.found === lookup) this.found = undefined;
      });
    }
    return this.found;
  }

  /**
   * Sends `body` to the coordinator until it is answered without a retriable error, or the
   * client's retries run out. `errorOf` reads the answer's error (0 for none, else code and message);
   * a non-zero error is thrown as a StrataError.
   */
  async request<K extends ApiKey>(apiKey: K, body: RequestOf<K>, errorOf: (response: ResponseOf<K>) => { code: number; message: string }): Promise<ResponseOf<K>> {
    const retry = this.cluster.config.retry;
    for (let attempt = 0; ; attempt++) {
      try {
        const { host, port } = await this.coordinator();
        const connection = await this.cluster.pool.get({ host, port }, TRANSACTION_LANE);
        const response = await connection.request(apiKey, body);
        const { code, message } = errorOf(response);
        if (code !== 0) throw StrataError.fromCode(code, message === '' ? undefined : message);
        return response;
      } catch (error) {
        const code = codeOf(error);
        if (code !== undefined && coordinatorMoved(code)) this.found = undefined;
        const again = code !== undefined ? TRANSACTION_RETRY_CODES.has(code) : isRetriable(error);
        if (!again || attempt >= retry.retries || this.cluster.closed) throw error;
        await sleep(backoffMs(attempt, retry));
      }
    }
  }
}
