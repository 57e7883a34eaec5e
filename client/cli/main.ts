/**
 * The client side of the `strata` command (everything but `strata broker …`, which `broker/cli.ts`
 * runs before it hands the rest here). Exit 0 on success; on bad input or failure, one line on stderr
 * and a non-zero exit.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { dumpLog } from './dump-log.js';

export const CLIENT_USAGE = `  strata log dump FILE.log [--records] [--format text|json]   print a segment's batches (and records)`;
const USAGE = `usage:\n${CLIENT_USAGE}`;

function fail(message: string, code = 1): never {
  process.stderr.write(`strata: ${message}\n`);
  process.exit(code);
}

function run(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      records: { type: 'boolean', default: false },
      format: { type: 'string', default: 'text' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return void process.stdout.write(`${USAGE}\n`);
  const [group, command, file, ...extra] = positionals;
  if (group !== 'log' || command !== 'dump' || file === undefined || extra.length > 0) fail(`unknown command '${positionals.join(' ')}'\n${USAGE}`);
  if (values.format !== 'text' && values.format !== 'json') fail(`--format must be text or json, got '${values.format}'`);
  if (!fs.existsSync(file)) fail(`no such file: ${file}`);
  const summary = dumpLog(file, { records: values.records, format: values.format, write: (line) => process.stdout.write(`${line}\n`) });
  process.stderr.write(`${summary.batches} batches, ${summary.records} records, ${summary.validBytes} valid bytes\n`);
  if (summary.error !== undefined) fail(summary.error, 2);
}

/** Runs one client command; exits the process with a one-line error on failure. */
export function runClientCommand(argv: string[]): void {
  try {
    run(argv);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
}
