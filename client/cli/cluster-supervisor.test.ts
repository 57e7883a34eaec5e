// Method: the supervisor of `strata cluster up` over fake brokers — a small node script written to a
// temp dir that takes `strata broker start`'s arguments, prints the ready line, serves /v1/cluster and
// misbehaves as a file in its data dir says — on free ports: start until ready with a leader, the
// `[node i]` prefixes, a broker dying before it is ready, one dying later, one ignoring SIGTERM, and
// a cluster that never elects a leader. The real broker's side is test/cluster-*.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planCluster, type ClusterNodePlan } from './cluster-plan.js';
import { ClusterStartError, ClusterSupervisor } from './cluster-supervisor.js';
import { allocateFreePorts } from './free-ports.js';

const FAKE_BROKER = `
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
const args = process.argv.slice(2);
const flag = (name) => args[args.indexOf(name) + 1];
const nodeId = Number(flag('--node-id'));
const dataDir = flag('--data');
fs.mkdirSync(dataDir, { recursive: true }); // as a real broker makes its own data dir
const behaviorFile = path.join(dataDir, 'behavior');
const behavior = fs.existsSync(behaviorFile) ? fs.readFileSync(behaviorFile, 'utf8').trim() : 'normal';
fs.writeFileSync(path.join(dataDir, 'args.json'), JSON.stringify(args));
process.stderr.write(JSON.stringify({ level: 30, msg: 'starting', nodeId }) + '\\n');
if (behavior === 'exit') {
  process.stderr.write('cannot open the log: disk on fire\\n');
  process.exit(3);
}
const [host, port] = flag('--http').split(':');
const server = http.createServer((request, response) => {
  response.setHeader('content-type', 'application/json');
  // Every voter of --peers registered, as a real controller reports once the cluster formed.
  const brokers = flag('--peers').split(',').map((peer) => ({ nodeId: Number(peer.split('@')[0]), host: '127.0.0.1', port: 1, httpHost: null, httpPort: null }));
  response.end(JSON.stringify({ nodeId, metadataLeader: behavior === 'no-leader' ? null : 1, metadataTerm: 2, brokers, partitions: [] }));
});
server.listen(Number(port), host, () => {
  process.stdout.write('strata broker ' + nodeId + ' listening on ' + flag('--listen') + ' (http ' + flag('--http') + ', data ' + dataDir + ')\\n');
});
process.on('SIGTERM', () => {
  if (behavior === 'ignore-term') return;
  process.stderr.write(JSON.stringify({ level: 30, msg: 'shutting down', nodeId }) + '\\n');
  server.close();
  process.exit(0);
});
`;

let dir: string;
let script: string;
const supervisors: ClusterSupervisor[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-cluster-supervisor-'));
  script = path.join(dir, 'fake-broker.mjs');
  fs.writeFileSync(script, FAKE_BROKER);
});

afterEach(async () => {
  for (const supervisor of supervisors.splice(0)) {
    supervisor.kill();
    await supervisor.closed;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function collect(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  let text = '';
  stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  return { stream, text: () => text };
}

async function cluster(nodes: number, behaviors: Record<number, string> = {}, timeouts = { startTimeoutMs: 20_000, stopTimeoutMs: 10_000 }) {
  const plans = planCluster({ nodes, host: '127.0.0.1', basePort: 0, dataDir: path.join(dir, 'data') }, await allocateFreePorts('127.0.0.1', 2 * nodes));
  for (const [nodeId, behavior] of Object.entries(behaviors)) {
    const plan = plans[Number(nodeId) - 1]!;
    fs.mkdirSync(plan.dataDir, { recursive: true });
    fs.writeFileSync(path.join(plan.dataDir, 'behavior'), behavior);
  }
  const stdout = collect();
  const stderr = collect();
  const supervisor = new ClusterSupervisor({ strataCommand: [process.execPath, script], plans, logLevel: 'warn', stdout: stdout.stream, stderr: stderr.stream, ...timeouts });
  supervisors.push(supervisor);
  return { supervisor, plans, stdout, stderr };
}

function argsOf(plan: ClusterNodePlan): string[] {
  return JSON.parse(fs.readFileSync(path.join(plan.dataDir, 'args.json'), 'utf8')) as string[];
}

async function until(condition: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('ClusterSupervisor', () => {
  it('starts every broker with its arguments, passes their lines through prefixed, and stops them with SIGTERM', async () => {
    const { supervisor, plans, stdout, stderr } = await cluster(3);
    expect(await supervisor.start()).toEqual({ metadataLeader: 1 });
    const peers = plans.map((p) => `${p.nodeId}@127.0.0.1:${p.listen.port}`).join(',');
    for (const plan of plans) {
      expect(argsOf(plan)).toEqual(['broker', 'start', '--node-id', String(plan.nodeId), '--peers', peers, '--listen', `127.0.0.1:${plan.listen.port}`, '--http', `127.0.0.1:${plan.http.port}`, '--data', plan.dataDir, '--log-level', 'warn']);
      expect(stdout.text()).toContain(`[node ${plan.nodeId}] strata broker ${plan.nodeId} listening on 127.0.0.1:${plan.listen.port}`);
      expect(stderr.text()).toContain(`[node ${plan.nodeId}] {"level":30,"msg":"starting","nodeId":${plan.nodeId}}\n`);
    }
    await supervisor.stop();
    await supervisor.closed;
    for (const plan of plans) expect(stderr.text()).toContain(`[node ${plan.nodeId}] {"level":30,"msg":"shutting down","nodeId":${plan.nodeId}}`);
    expect(stderr.text()).not.toContain('[cluster]');
  });

  it('names the broker that exits before it is ready, with its stderr, and stops the others', async () => {
    const { supervisor } = await cluster(3, { 2: 'exit' });
    const failure = await supervisor.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ClusterStartError);
    expect((failure as ClusterStartError).message).toMatch(/^broker 2 \(127\.0\.0\.1:\d+\) exited with code 3 before it was ready$/);
    expect((failure as ClusterStartError).nodeId).toBe(2);
    expect((failure as ClusterStartError).stderrTail).toContain('cannot open the log: disk on fire');
    await supervisor.closed;
  });

  it('reports a broker that dies after the start and keeps the others running', async () => {
    const { supervisor, stderr } = await cluster(3);
    await supervisor.start();
    const pid = supervisor.pidOf(2)!;
    process.kill(pid, 'SIGKILL');
    await until(() => stderr.text().includes('[cluster] broker 2 was killed by SIGKILL unexpectedly; 2 still running. Its last stderr lines:\n  {"level":30,"msg":"starting","nodeId":2}'), 'the report');
    await supervisor.stop();
    await supervisor.closed;
    expect(stderr.text().match(/\[cluster\]/g)).toHaveLength(1);
  });

  it('kills a broker that ignores SIGTERM once the stop deadline passes', async () => {
    const { supervisor, stderr } = await cluster(2, { 1: 'ignore-term' }, { startTimeoutMs: 20_000, stopTimeoutMs: 300 });
    await supervisor.start();
    await supervisor.stop();
    await supervisor.closed;
    expect(stderr.text()).toContain('[cluster] broker 1 did not stop within 300 ms; killing it');
    expect(stderr.text()).not.toContain('[cluster] broker 2');
  });

  it('gives up when no broker reports a metadata leader by the deadline', async () => {
    const { supervisor } = await cluster(2, { 1: 'no-leader', 2: 'no-leader' }, { startTimeoutMs: 1500, stopTimeoutMs: 10_000 });
    await expect(supervisor.start()).rejects.toThrow(/^no broker reported a metadata leader within 1500 ms \(broker 1: no leader in term 2; broker 2: no leader in term 2\)$/);
    await supervisor.closed;
  });
});
