// Method: takes the TypeScript snippet from README.md as it is written, points it at a broker started
// by the test on a free port (the only substitutions: the broker address, and the package name for
// the source entry it is built from), runs it with tsx in a child process and checks that it prints
// what it read and handled and exits 0 on its own within a deadline.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';

const root = path.resolve(import.meta.dirname, '..');
/** The snippet produces, reads and handles a handful of records: seconds, even on a loaded machine. */
const SNIPPET_DEADLINE_MS = 30_000;
let broker: Broker;
let dir: string;

beforeAll(async () => {
  broker = await startBroker({ logger: silentLogger() });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-readme-'));
});
afterAll(async () => {
  await broker.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The README's `ts` code block that imports the package. */
function readmeSnippet(readme: string): string {
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const snippet = blocks.find((b) => b.includes("from 'strata'"));
  if (snippet === undefined) throw new Error("README.md has no ts block importing 'strata'");
  return snippet;
}

it('the README client snippet runs as written and ends', async () => {
  const snippet = readmeSnippet(fs.readFileSync(path.join(root, 'README.md'), 'utf8'));
  expect(snippet).toContain("'127.0.0.1:7401'");
  const runnable = snippet
    .replaceAll("from 'strata'", `from ${JSON.stringify(path.join(root, 'client', 'index.ts'))}`)
    .replaceAll("'127.0.0.1:7401'", `'${broker.address.host}:${broker.address.port}'`);
  const file = path.join(dir, 'snippet.mts');
  fs.writeFileSync(file, runnable);
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: root });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), SNIPPET_DEADLINE_MS);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  clearTimeout(killer);
  expect(signal, `killed after ${SNIPPET_DEADLINE_MS} ms: the snippet did not end; stdout: ${stdout}`).toBeNull();
  expect(code, stderr).toBe(0);
  expect(stderr).toBe('');
  const lines = stdout.split('\n').filter((l) => l !== '');
  expect(lines.filter((l) => !l.startsWith('billing')).map((l) => l.split(' ').slice(2).join(' ')).sort()).toEqual(['order-1 paid', 'order-2 shipped']);
  expect(lines.filter((l) => l.startsWith('billing')).sort()).toEqual(['billing paid', 'billing shipped']);
}, SNIPPET_DEADLINE_MS + 10_000);
