/**
 * Every bound of the wire protocol, in one place, with the relations between them checked when the
 * module loads.
 */
import { MAX_BATCH_BYTES_CEILING } from '../../log/index.js';

/** The length prefix of every frame: uint32, big-endian, counting the bytes after itself. */
export const FRAME_LENGTH_BYTES = 4;

/** Largest frame a receiver accepts by default (Kafka's `socket.request.max.bytes`: 100 MiB). */
export const MAX_FRAME_BYTES_DEFAULT = 100 * 1024 * 1024;
/** The length prefix is a uint32, and Buffers above 2 GiB are not portable. */
export const MAX_FRAME_BYTES_CEILING = 2 ** 31 - 1;

/** Client defaults (kafkajs / Kafka `request.timeout.ms` is 30 s; connect 10 s). */
export const REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
export const CONNECT_TIMEOUT_MS_DEFAULT = 10_000;

/** Requests a broker serves at once per connection before it stops reading the socket. */
export const MAX_IN_FLIGHT_REQUESTS_DEFAULT = 100;

/** Client ids are logged on every request; keep them short. */
export const CLIENT_ID_MAX_CHARS = 255;

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`client/protocol limits: ${what}`);
}
check(MAX_BATCH_BYTES_CEILING < MAX_FRAME_BYTES_DEFAULT, 'the largest batch fits in a default frame');
check(MAX_FRAME_BYTES_DEFAULT <= MAX_FRAME_BYTES_CEILING, 'default frame size within ceiling');
