#!/usr/bin/env node
/**
 * The `strata` command's entry point (package.json `bin`). `strata broker …` runs the broker here;
 * every other command belongs to the client CLI (`client/cli`). It lives in broker/ because only the
 * broker may depend on both halves: the client library never loads broker code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLIENT_USAGE, runClientCommand } from '../client/cli/index.js';
import { main as runBroker } from './main.js';

const USAGE = `usage:
  strata broker start [--config FILE.json] [--node-id N] [--data DIR] [--listen HOST:PORT] [--http HOST:PORT] [--log-level LEVEL]
${CLIENT_USAGE}
  strata --help`;

export async function strata(argv: string[]): Promise<void> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(`${USAGE}\n`);
    if (argv.length === 0) process.exitCode = 1;
    return;
  }
  if (argv[0] === 'broker') return runBroker(argv);
  runClientCommand(argv);
}

// Run when executed, not when imported; npm's bin link is a symlink, hence realpath.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(fs.realpathSync(path.resolve(process.argv[1]))).href) {
  void strata(process.argv.slice(2));
}
