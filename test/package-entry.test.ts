// Method: imports the package by its own name from a child Node process (Node resolves a package's
// self-reference through its "exports"), as a user's code would after `npm install strata`: the main
// entry is the client library, `strata/broker` the embedded broker, `strata/log` the storage engine.
// The built `dist/` is what `npm install` (the `prepare` script) made; the test builds it if missing.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

describe('package entry points', () => {
  it('exports the client as the main entry, the broker as strata/broker and the log as strata/log', () => {
    if (!fs.existsSync(path.join(root, 'dist', 'broker', 'index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
    const script = `
      const client = await import('strata');
      const broker = await import('strata/broker');
      const log = await import('strata/log');
      const running = await broker.startBroker({ listen: { host: '127.0.0.1', port: 0 }, http: null, logger: broker.silentLogger() });
      const c = new client.Client({ brokers: [running.address.host + ':' + running.address.port] });
      await c.admin().createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
      const [sent] = await c.producer().send({ topic: 't', messages: [{ value: 'hello' }] });
      await c.close();
      await running.close();
      console.log(JSON.stringify({ offset: sent.offset, client: typeof client.Client, log: typeof log.encodeBatch }));
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ offset: 0, client: 'function', log: 'function' });
  });
});
