/**
 * `strata log dump FILE.log [--records] [--format text|json]`: the command around `dump-log.ts`.
 * It needs no broker. A damaged batch ends the dump with exit 2 (bad usage is 1).
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { choiceFlag, CommandFailure, expectPositionals, UsageError, type CommandContext } from './command-context.js';
import { dumpLog } from './dump-log.js';

export const LOG_USAGE = `  strata log dump FILE.log [--records] [--format text|json]   print a segment's batches (and records)`;

export function runLogCommand(argv: readonly string[], context: CommandContext): void {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      records: { type: 'boolean', default: false },
      format: { type: 'string' },
    },
  });
  const [verb, ...rest] = positionals;
  if (verb !== 'dump') throw new UsageError(`unknown command 'log ${positionals.join(' ')}'; try log dump`);
  const [file] = expectPositionals(rest, 1, 'strata log dump FILE.log [--records] [--format text|json]');
  const format = choiceFlag('format', values.format, ['text', 'json'], 'text');
  if (!fs.existsSync(file!)) throw new UsageError(`no such file: ${file}`);
  const summary = dumpLog(file!, { records: values.records, format, write: (line) => context.stdout.write(`${line}\n`) });
  context.stderr.write(`${summary.batches} batches, ${summary.records} records, ${summary.validBytes} valid bytes\n`);
  if (summary.error !== undefined) throw new CommandFailure(summary.error, 2);
}
