// Method: against a broker in this process, runs the real `strata` commands on a topic that does not
// exist and checks each says so (one line naming the topic, non-zero exit), and times the client's
// topic lookup in-process, where no process start-up blurs it: a broker's "no such topic" is an
// answer, not a transient error to back off from.
import { describe, expect, it } from 'vitest';
import { Client } from '../client/index.js';
import { cliTestBroker, expectOneLineError } from './fixtures/strata-process.js';

const cli = cliTestBroker('cli-unknown-topic');
/** Well under the ~3 s that retrying with backoff took; a few round trips on a loaded machine. */
const ANSWER_DEADLINE_MS = 1000;

describe('a topic that does not exist', () => {
  it('is reported by every command that needs it, naming the topic', async () => {
    const commands = [
      ['topic', 'describe', 'nosuch'],
      ['produce', 'nosuch'],
      ['consume', 'nosuch'],
      ['consume', 'nosuch', '--group', 'g1'],
      ['perf', 'produce', '--topic', 'nosuch', '--records', '1', '--record-size', '1'],
      ['perf', 'consume', '--topic', 'nosuch', '--records', '1'],
      ['group', 'reset-offsets', 'g1', '--topic', 'nosuch', '--to-earliest'],
    ];
    const runs = await Promise.all(commands.map((args) => cli.strata(args, 'a\n')));
    runs.forEach((run, i) => {
      expect(run.stdout, commands[i]!.join(' ')).toBe('');
      expectOneLineError(run, /^strata: UNKNOWN_TOPIC_OR_PARTITION: .*Topic 'nosuch' does not exist\.\n$/);
    });
    // Named once, not "Topic 'nosuch': topic 'nosuch' does not exist".
    expectOneLineError(await cli.strata(['topic', 'delete', 'nosuch']), /^strata: UNKNOWN_TOPIC_OR_PARTITION: [^']*topic 'nosuch' does not exist\n$/);
  }, 60_000);

  it('is answered at once by the client, without retries', async () => {
    const client = new Client({ brokers: [cli.bootstrap()] });
    try {
      await client.admin().listTopics(); // connected: only the lookups are timed
      for (const lookup of [() => client.topicMetadata('nosuch'), () => client.admin().describeTopics({ topics: ['nosuch'] })]) {
        const startedMs = performance.now();
        await expect(lookup()).rejects.toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION' });
        expect(performance.now() - startedMs).toBeLessThan(ANSWER_DEADLINE_MS);
      }
    } finally {
      await client.close();
    }
  });
});
