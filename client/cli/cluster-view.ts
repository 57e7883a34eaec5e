/**
 * One broker's view of the cluster, as its HTTP listener serves it at `GET /v1/cluster`, and the one
 * way the CLI asks for it: a bounded HTTP GET whose answer is checked field by field, so a broker
 * that answers garbage reads as "down, because …" instead of crashing a printer further on.
 *
 *   { "nodeId": 1, "metadataLeader": 2 | null, "metadataTerm": 5,
 *     "brokers": [{ "nodeId", "host", "port", "httpHost": string | null, "httpPort": number | null }],
 *     "partitions": [{ "topic", "partition", "replicas": [ids], "leader": id | null, "leaderEpoch",
 *                      "isLeaderHere", "highWatermark", "logEndOffset",
 *                      "followers": [{ "nodeId", "matchEnd", "lag" }] }] }
 *
 * A broker lists every partition it hosts; only the leader's entry has `followers` (others []).
 * The client never imports the broker, so this shape is written down here a second time, as the
 * wire protocol's schemas are.
 */

export interface ClusterBroker {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly httpHost: string | null;
  readonly httpPort: number | null;
}

export interface ClusterFollower {
  readonly nodeId: number;
  /** The end of the follower's log known to match the leader's. */
  readonly matchEnd: number;
  /** The leader's log end offset minus `matchEnd`. */
  readonly lag: number;
}

export interface ClusterPartition {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly leader: number | null;
  readonly leaderEpoch: number;
  readonly isLeaderHere: boolean;
  readonly highWatermark: number;
  readonly logEndOffset: number;
  readonly followers: readonly ClusterFollower[];
}

export interface ClusterView {
  readonly nodeId: number;
  readonly metadataLeader: number | null;
  readonly metadataTerm: number;
  readonly brokers: readonly ClusterBroker[];
  readonly partitions: readonly ClusterPartition[];
}

/** Checks an answer of `GET /v1/cluster`; throws naming the first field that is wrong. */
export function parseClusterView(body: unknown): ClusterView {
  const view = object(body, 'answer');
  return {
    nodeId: integer(view, 'nodeId', 'answer'),
    metadataLeader: nullable(view, 'metadataLeader', 'answer', integer),
    metadataTerm: integer(view, 'metadataTerm', 'answer'),
    brokers: array(view, 'brokers', 'answer').map((item, i) => {
      const where = `brokers[${i}]`;
      const broker = object(item, where);
      return {
        nodeId: integer(broker, 'nodeId', where),
        host: string(broker, 'host', where),
        port: integer(broker, 'port', where),
        httpHost: nullable(broker, 'httpHost', where, string),
        httpPort: nullable(broker, 'httpPort', where, integer),
      };
    }),
    partitions: array(view, 'partitions', 'answer').map((item, i) => {
      const where = `partitions[${i}]`;
      const partition = object(item, where);
      return {
        topic: string(partition, 'topic', where),
        partition: integer(partition, 'partition', where),
        replicas: array(partition, 'replicas', where).map((id, r) => integerValue(id, `${where}.replicas[${r}]`)),
        leader: nullable(partition, 'leader', where, integer),
        leaderEpoch: integer(partition, 'leaderEpoch', where),
        isLeaderHere: boolean(partition, 'isLeaderHere', where),
        highWatermark: integer(partition, 'highWatermark', where),
        logEndOffset: integer(partition, 'logEndOffset', where),
        followers: array(partition, 'followers', where).map((f, j) => {
          const at = `${where}.followers[${j}]`;
          const follower = object(f, at);
          return { nodeId: integer(follower, 'nodeId', at), matchEnd: integer(follower, 'matchEnd', at), lag: integer(follower, 'lag', at) };
        }),
      };
    }),
  };
}

/** Characters of an error answer's body quoted in the message. */
const ERROR_BODY_CHARS_SHOWN = 200;

/**
 * `GET http://ADDRESS/v1/cluster`, given up after `timeoutMs` (connecting, waiting and reading the
 * body all count), so one broker that hangs never holds up a status. Throws with the reason.
 */
export async function fetchClusterView(httpAddress: string, timeoutMs: number): Promise<ClusterView> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(`http://${httpAddress}/v1/cluster`, { signal: AbortSignal.timeout(timeoutMs) });
    text = await response.text();
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : describeFetchError(error);
    throw new Error(`${httpAddress}: ${reason}`);
  }
  if (!response.ok) throw new Error(`${httpAddress}: HTTP ${response.status} ${text.slice(0, ERROR_BODY_CHARS_SHOWN)}`);
  try {
    return parseClusterView(JSON.parse(text));
  } catch (error) {
    throw new Error(`${httpAddress}: bad /v1/cluster answer: ${(error as Error).message}`);
  }
}

/** undici hides the socket error (ECONNREFUSED, …) in `cause`. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) return 'code' in cause && typeof cause.code === 'string' ? cause.code : cause.message;
  return error.message;
}

type Fields = Record<string, unknown>;

function object(value: unknown, where: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where} must be an object`);
  return value as Fields;
}

function integerValue(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new Error(`${where} must be an integer, got ${JSON.stringify(value)}`);
  return value;
}

function integer(fields: Fields, key: string, where: string): number {
  return integerValue(fields[key], `${where}.${key}`);
}

function string(fields: Fields, key: string, where: string): string {
  const value = fields[key];
  if (typeof value !== 'string') throw new Error(`${where}.${key} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

function boolean(fields: Fields, key: string, where: string): boolean {
  const value = fields[key];
  if (typeof value !== 'boolean') throw new Error(`${where}.${key} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function array(fields: Fields, key: string, where: string): unknown[] {
  const value = fields[key];
  if (!Array.isArray(value)) throw new Error(`${where}.${key} must be an array`);
  return value;
}

function nullable<T>(fields: Fields, key: string, where: string, read: (fields: Fields, key: string, where: string) => T): T | null {
  return fields[key] === null ? null : read(fields, key, where);
}
