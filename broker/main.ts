#!/usr/bin/env node
/**
 * `strata broker start`: runs one broker until SIGTERM or SIGINT, then shuts it down gracefully
 * (answers in-flight requests, flushes and closes every log) and exits 0.
 *
 *   node dist/broker/main.js [broker] start [--config FILE.json] [--node-id N] [--data DIR]
 *                                          [--listen HOST:PORT] [--http HOST:PORT] [--log-level LEVEL]
 *                                          [--log-format json|pretty]
 *
 * Flags override the config file, whose keys are `BrokerConfig`'s (unknown keys are rejected). When
 * the listener is up it prints one line on stdout:
 *
 *   strata broker 0 listening on 127.0.0.1:7401 (http 127.0.0.1:7481, data /var/lib/strata)
 *
 * Logs go to stderr, so stdout stays that one line: short pretty lines (pino-pretty) when stderr is
 * a terminal, JSON lines otherwise; `--log-format` or `STRATA_LOG_FORMAT` decides instead. Bad flags
 * or config, a port already in use (`port 127.0.0.1:7401 is already in use (another broker?)`), an
 * unusable data directory (`data directory /x is not writable: …`), or any other failure to start:
 * one line on stderr (the stack at `--log-level debug`), exit 1. The signal handlers are installed
 * before the broker starts: a signal during startup stops the broker cleanly as soon as it is up
 * (without printing the ready line), exit 0. Nothing in startup may block the event loop for long,
 * or those handlers never run (`data-dir.ts` says why the data directory is made by hand).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { InvariantViolation } from '../log/index.js';
import { AddressInUseError } from './address-in-use.js';
import { DataDirError } from './data-dir.js';
import { startBroker, type Broker } from './broker.js';
import { parseBrokerConfig, parseHostPort, parsePeers, type BrokerConfig } from './config.js';
import { chooseLogFormat, createLogger, type LogFormat } from './logger.js';

const USAGE = `usage: strata broker start [--config FILE.json] [--node-id N] [--data DIR] [--listen HOST:PORT] [--http HOST:PORT] [--peers ID@HOST:PORT,...] [--log-level LEVEL] [--log-format json|pretty]`;

/** Builds the broker config from the command line (and the config file it names). Throws on bad input. */
export function configFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): { config: BrokerConfig; logLevel: string; logFormat: LogFormat } {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      'node-id': { type: 'string' },
      data: { type: 'string' },
      listen: { type: 'string' },
      http: { type: 'string' },
      peers: { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      'log-format': { type: 'string' },
    },
  });
  const words = positionals[0] === 'broker' ? positionals.slice(1) : positionals;
  if (words.length !== 1 || words[0] !== 'start') throw new Error(`unknown command '${positionals.join(' ')}'\n${USAGE}`);
  let input: Record<string, unknown> = {};
  if (values.config !== undefined) {
    const parsed = readConfigFile(values.config);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${values.config} must hold a JSON object`);
    input = { ...(parsed as Record<string, unknown>) };
    // A relative data dir in a config file is relative to the file.
    if (typeof input['dataDir'] === 'string') input['dataDir'] = path.resolve(path.dirname(values.config), input['dataDir']);
  }
  if (values['node-id'] !== undefined) {
    if (!/^\d+$/.test(values['node-id'])) throw new Error(`--node-id must be a non-negative integer, got '${values['node-id']}'`);
    input['nodeId'] = Number(values['node-id']);
  }
  if (values.data !== undefined) input['dataDir'] = path.resolve(values.data);
  if (values.listen !== undefined) input['listen'] = parseHostPort(values.listen, '--listen');
  if (values.http !== undefined) input['http'] = parseHostPort(values.http, '--http');
  if (values.peers !== undefined) input['peers'] = parsePeers(values.peers, '--peers');
  if (input['dataDir'] === undefined) throw new Error(`a data directory is required: --data DIR or "dataDir" in --config\n${USAGE}`);
  const logLevel = values['log-level'];
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  const logFormat = chooseLogFormat(process.stderr, values['log-format'] ?? env['STRATA_LOG_FORMAT']);
  return { config: parseBrokerConfig(input), logLevel, logFormat };
}

/** pino's levels, and `silent`. */
const LOG_LEVELS: readonly string[] = [...Object.keys(pino.levels.values), 'silent'];

/** The `--config` file's JSON, or an error naming the file and what is wrong with it. */
function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new Error(`--config ${file}: ${code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`--config ${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  let parsed: ReturnType<typeof configFromArgs>;
  try {
    parsed = configFromArgs(argv, process.env);
  } catch (error) {
    process.stderr.write(`strata: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
    return;
  }
  const logger =
    parsed.logFormat === 'pretty'
      ? createLogger({ level: parsed.logLevel, destination: process.stderr, format: 'pretty' })
      : pino({ level: parsed.logLevel, base: { service: 'strata-broker' } }, pino.destination(2));
  // Signal handlers go in before anything starts: a SIGTERM that arrives while the broker starts (or
  // the instant its ready line is out) must stop it cleanly, never kill it with files half-written.
  // One that arrives during startup is remembered and acted on once the broker is up.
  let broker: Broker | undefined;
  let stopSignal: string | undefined;
  const shutDown = (running: Broker, signal: string): void => {
    running.logger.info({ signal }, 'shutting down');
    running.close().then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        logger.fatal({ err: error }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  const stop = (signal: string): void => {
    if (stopSignal !== undefined) return;
    stopSignal = signal;
    if (broker !== undefined) shutDown(broker, signal);
  };
  // The last line of defence for background work: a rejection nobody handled is a bug to log, not
  // a reason to take every partition down. A broken invariant still stops the process.
  process.on('unhandledRejection', (reason) => {
    if (reason instanceof InvariantViolation) throw reason;
    logger.error({ err: reason }, 'unhandled promise rejection (a bug); the broker serves on');
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    broker = await startBroker({ ...parsed.config, logger });
  } catch (error) {
    // A taken port or an unusable data directory is the user's to fix, told in one line.
    if (error instanceof AddressInUseError || error instanceof DataDirError) {
      process.stderr.write(`strata: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    // One readable line for a person; the stack for whoever asks for debug logs.
    logger.debug({ err: error }, 'broker failed to start');
    process.stderr.write(`strata: broker failed to start: ${startupProblem(error)}\n`);
    process.exitCode = 1;
    return;
  }
  if (stopSignal !== undefined) {
    // Stopped while starting: never announce a broker that is already going away.
    shutDown(broker, stopSignal);
    return;
  }
  process.stdout.write(`strata broker ${broker.nodeId} listening on ${broker.address.host}:${broker.address.port} (${broker.httpAddress === undefined ? 'no http' : `http ${broker.httpAddress.host}:${broker.httpAddress.port}`}, data ${broker.dataDir})\n`);
}

/** An error and its causes as one line: `could not open … (cause: EACCES: permission denied, …)`. */
function startupProblem(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    if (!(e instanceof Error)) break;
  }
  return parts.map((p) => p.replace(/\s*\n\s*/g, ' ')).join(' (cause: ') + ')'.repeat(parts.length - 1);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  void main(process.argv.slice(2));
}
