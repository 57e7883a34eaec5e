// Method: runs the real `strata` entry point (broker/cli.ts through tsx) as a child process and checks
// its output and exit codes: the dump tool on a damaged segment, bad usage, a broker on a port in use,
// and a broker that starts, serves, and stops cleanly on SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Connection } from '../client/protocol/index.js';
import { encodeBatch, Log } from '../log/index.js';

const entry = path.resolve(import.meta.dirname, '..', 'broker', 'cli.ts');
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-cli-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function strata(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', entry, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('strata', () => {
  it('log dump exits 2 at a damaged batch after printing the good ones', async () => {
    const log = await Log.open(dir, { flushPolicy: 'never' });
    await log.append(encodeBatch([{ key: 'a', value: '1' }]));
    await log.append(encodeBatch([{ key: 'b', value: '2' }]));
    await log.close();
    const file = path.join(dir, '00000000000000000000.log');
    const bytes = fs.readFileSync(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0x55, bytes.length - 1);
    fs.writeFileSync(file, bytes);
    const result = strata(['log', 'dump', file]);
    expect(result.status).toBe(2);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/damaged batch at position \d+: .*CRC/);
  });

  it('answers bad usage with one line on stderr and exit 1', () => {
    expect(strata(['log', 'dump', path.join(dir, 'missing.log')])).toMatchObject({ status: 1, stderr: expect.stringMatching(/no such file/) });
    expect(strata(['log', 'dump', 'x.log', '--format', 'xml'])).toMatchObject({ status: 1, stderr: expect.stringMatching(/--format must be/) });
    expect(strata(['nope'])).toMatchObject({ status: 1, stderr: expect.stringMatching(/unknown command/) });
    expect(strata(['broker', 'start', '--bogus'])).toMatchObject({ status: 1 });
    expect(strata(['--help'])).toMatchObject({ status: 0, stdout: expect.stringMatching(/strata broker start/) });
  });

  it('broker start on a port in use says so in one line, exit 1, no stack trace', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const listen = strata(['broker', 'start', '--data', dir, '--listen', `127.0.0.1:${port}`, '--http', '127.0.0.1:0']);
      expect(listen).toMatchObject({ status: 1, stdout: '', stderr: `strata: port 127.0.0.1:${port} is already in use (another broker?)\n` });
      const http = strata(['broker', 'start', '--data', dir, '--listen', '127.0.0.1:0', '--http', `127.0.0.1:${port}`]);
      expect(http).toMatchObject({ status: 1, stdout: '', stderr: `strata: http port 127.0.0.1:${port} is already in use (another broker?)\n` });
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('broker start serves until SIGTERM, then exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'broker', 'start', '--data', dir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code} before listening`)));
      });
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(line);
      expect(match).not.toBeNull();
      const connection = await Connection.connect({ host: '127.0.0.1', port: Number(match?.[1]), clientId: 'cli-test' });
      const versions = await connection.request(18, {});
      expect(versions.apis.length).toBeGreaterThan(0);
      await connection.close();
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
