/**
 * What each `apis/<name>.ts` file declares about its API: key, versions, schema text, and the codecs
 * of its request and response bodies compiled from that schema.
 */
import type { ApiKey } from './api-keys.js';
import { compileSchema, messageCodec, type MessageCodec } from './message-codec.js';

export interface ApiDefinition<Req, Res> {
  readonly key: ApiKey;
  /** Kafka's name for the API, as logged. */
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The proto3 schema text of request and response (the same text as the README). */
  readonly schema: string;
  readonly request: MessageCodec<Req>;
  readonly response: MessageCodec<Res>;
}

export function defineApi<Req, Res>(spec: {
  key: ApiKey;
  name: string;
  minVersion: number;
  maxVersion: number;
  schema: string;
  package: string;
}): ApiDefinition<Req, Res> {
  const root = compileSchema(spec.schema);
  return Object.freeze({
    key: spec.key,
    name: spec.name,
    minVersion: spec.minVersion,
    maxVersion: spec.maxVersion,
    schema: spec.schema,
    request: messageCodec<Req>(root, `${spec.package}.${spec.name}Request`),
    response: messageCodec<Res>(root, `${spec.package}.${spec.name}Response`),
  });
}
