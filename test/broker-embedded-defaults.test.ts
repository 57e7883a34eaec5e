// Method: runs `startBroker()` with no options in a child process (from source through tsx) and checks
// that it took free ports, not 7401/7481, and wrote nothing on stdout or stderr while it started,
// served one request and closed (its default logger: warn, on stderr). The child reports its bound
// addresses on file descriptor 3, so stdout and stderr stay the broker's own.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';

const brokerIndex = path.resolve(import.meta.dirname, '..', 'broker', 'index.ts');
const clientIndex = path.resolve(import.meta.dirname, '..', 'client', 'index.ts');
let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

it('startBroker() listens on free ports and logs nothing below warn, never on stdout', async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-embedded-'));
  const script = path.join(dir, 'embedded.mts');
  fs.writeFileSync(
    script,
    [
      `import fs from 'node:fs';`,
      `import { startBroker } from ${JSON.stringify(brokerIndex)};`,
      `import { Client } from ${JSON.stringify(clientIndex)};`,
      `const broker = await startBroker();`,
      `const client = new Client({ brokers: [\`\${broker.address.host}:\${broker.address.port}\`] });`,
      `await client.admin().createTopics({ topics: [{ topic: 'orders', numPartitions: 1 }] });`,
      `await client.close();`,
      `fs.writeSync(3, JSON.stringify({ address: broker.address, httpAddress: broker.httpAddress, level: broker.logger.level }));`,
      `await broker.close();`,
    ].join('\n'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let report = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8').on('data', (chunk: string) => (report += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code, stderr).toBe(0);
  expect(stdout).toBe('');
  expect(stderr).toBe('');
  const { address, httpAddress, level } = JSON.parse(report) as { address: { host: string; port: number }; httpAddress: { host: string; port: number }; level: string };
  expect(address.host).toBe('127.0.0.1');
  expect(httpAddress.host).toBe('127.0.0.1');
  for (const port of [address.port, httpAddress.port]) {
    expect(port).toBeGreaterThan(0);
    expect([7401, 7481]).not.toContain(port);
  }
  expect(level).toBe('warn');
}, 60_000);
