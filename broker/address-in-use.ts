/**
 * The error a listener gives when its port is taken: an operating error (the user ran a second broker,
 * or something else holds the port), reported as one readable line by `strata broker start`, with the
 * address, instead of a stack trace. The original `EADDRINUSE` error is its `cause`.
 */
import type { HostPort } from './config.js';

export class AddressInUseError extends Error {
  readonly address: HostPort;
  constructor(address: HostPort, what: 'port' | 'http port', cause: unknown) {
    super(`${what} ${address.host}:${address.port} is already in use (another broker?)`, { cause });
    this.name = 'AddressInUseError';
    this.address = address;
  }
}

/** `error` as an `AddressInUseError` when it is a bind failure on a taken port, else unchanged. */
export function explainListenError(error: unknown, address: HostPort, what: 'port' | 'http port'): unknown {
  return (error as { code?: unknown } | null)?.code === 'EADDRINUSE' ? new AddressInUseError(address, what, error) : error;
}
