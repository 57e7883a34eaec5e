// Method: `strata cluster`'s argument parser, the cluster plan (ports, data dirs, --peers, the broker
// arguments) and free-port allocation, on plain data without brokers: every accepted form and every
// rejected one with its one-line message.
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLUSTER_UP_DEFAULTS, parseClusterCommand } from './cluster-command.js';
import { bootstrapList, brokerStartArgs, peersFlag, planCluster } from './cluster-plan.js';
import { allocateFreePorts } from './free-ports.js';

describe('parseClusterCommand', () => {
  it('reads up with its defaults and every flag', () => {
    expect(parseClusterCommand(['up'])).toEqual({ verb: 'up', ...CLUSTER_UP_DEFAULTS, dataDir: path.resolve('.strata-data') });
    expect(parseClusterCommand(['up', '--nodes', '5', '--data', '/tmp/c', '--base-port', '9000', '--host', '::1', '--log-level', 'warn', '--timeout-ms', '5000'])).toEqual({
      verb: 'up',
      nodes: 5,
      dataDir: '/tmp/c',
      basePort: 9000,
      host: '::1',
      logLevel: 'warn',
      startTimeoutMs: 5000,
    });
    expect(parseClusterCommand(['up', '--base-port', '0'])).toMatchObject({ basePort: 0 });
  });

  it('reads status', () => {
    expect(parseClusterCommand(['status'])).toEqual({ verb: 'status', http: ['127.0.0.1:7481'], json: false, internal: false, answerTimeoutMs: 2000 });
    expect(parseClusterCommand(['status', '--http', 'a:1,b:2', '--json', '--internal', '--timeout-ms', '500'])).toEqual({
      verb: 'status',
      http: ['a:1', 'b:2'],
      json: true,
      internal: true,
      answerTimeoutMs: 500,
    });
  });

  it('rejects bad usage with one line naming the problem', () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /unknown command 'cluster '; try up or status/],
      [['down'], /unknown command 'cluster down'/],
      [['up', 'extra'], /usage: strata cluster up .*\(got 'extra'\)/],
      [['up', '--nodes', '0'], /--nodes must be an integer from 1 to 9, got '0'/],
      [['up', '--nodes', '10'], /--nodes must be an integer from 1 to 9/],
      [['up', '--base-port', '65500'], /--base-port must be an integer from 0 to 65453/],
      [['up', '--nodes', '9', '--base-port', '65453'], /--base-port must be an integer from 0 to 65447/],
      [['up', '--host', 'a,b'], /--host must be a host name or address/],
      [['up', '--log-level', 'loud'], /--log-level must be fatal or error or warn or info or debug or trace or silent/],
      [['up', '--json'], /--json does not apply to 'cluster up'/],
      [['status', '--nodes', '3'], /--nodes does not apply to 'cluster status'/],
      [['up', '--internal'], /--internal does not apply to 'cluster up'/],
      [['status', '--http', 'nope'], /--http must be HOST:PORT\[,HOST:PORT\.\.\.\], got 'nope'/],
    ];
    for (const [argv, pattern] of cases) expect(() => parseClusterCommand(argv), argv.join(' ')).toThrow(pattern);
  });
});

describe('planCluster', () => {
  it('places broker i on base+i-1 and HTTP on base+80+i-1, data in DIR/node-i', () => {
    const plans = planCluster({ nodes: 3, host: '127.0.0.1', basePort: 7401, dataDir: '/d' });
    expect(plans).toEqual([1, 2, 3].map((i) => ({ nodeId: i, listen: { host: '127.0.0.1', port: 7400 + i }, http: { host: '127.0.0.1', port: 7480 + i }, dataDir: `/d/node-${i}` })));
    expect(bootstrapList(plans)).toBe('127.0.0.1:7401,127.0.0.1:7402,127.0.0.1:7403');
    expect(peersFlag(plans)).toBe('1@127.0.0.1:7401,2@127.0.0.1:7402,3@127.0.0.1:7403');
    expect(brokerStartArgs(plans[1]!, plans, 'info')).toEqual([
      'broker', 'start', '--node-id', '2', '--peers', '1@127.0.0.1:7401,2@127.0.0.1:7402,3@127.0.0.1:7403',
      '--listen', '127.0.0.1:7402', '--http', '127.0.0.1:7482', '--data', '/d/node-2', '--log-level', 'info',
    ]);
  });

  it('takes free ports for base port 0: protocol ports first, then HTTP', () => {
    const plans = planCluster({ nodes: 2, host: '::1', basePort: 0, dataDir: '/d' }, [5001, 5002, 6001, 6002]);
    expect(plans.map((p) => [p.listen.port, p.http.port])).toEqual([[5001, 6001], [5002, 6002]]);
    expect(peersFlag(plans)).toBe('1@[::1]:5001,2@[::1]:5002');
  });

  it('refuses inconsistent layouts', () => {
    expect(() => planCluster({ nodes: 3, host: 'h', basePort: 0, dataDir: '/d' })).toThrow('base port 0 needs 6 free ports, got 0');
    expect(() => planCluster({ nodes: 1, host: 'h', basePort: 7401, dataDir: '/d' }, [1, 2])).toThrow('free ports are only for base port 0');
    expect(() => planCluster({ nodes: 0, host: 'h', basePort: 7401, dataDir: '/d' })).toThrow('a cluster has 1 to 9 nodes, got 0');
    expect(() => planCluster({ nodes: 3, host: 'h', basePort: 65454, dataDir: '/d' })).toThrow('the highest would be 65536');
  });
});

describe('allocateFreePorts', () => {
  it('returns distinct ports that can be bound right after', async () => {
    const ports = await allocateFreePorts('127.0.0.1', 6);
    expect(new Set(ports).size).toBe(6);
    for (const port of ports) {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
