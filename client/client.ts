/**
 * `Client`: the entry point, a facade. It parses the configuration, owns one `Cluster` (connections,
 * metadata, routing, retries: `cluster.ts`) and builds producers, consumers and admins on it.
 * `close()` closes them (producers flush), then the connections.
 */
import { Admin } from './admin.js';
import type { TopicInfo } from './cluster-metadata.js';
import { Cluster, type ClusterInternals } from './cluster.js';
import { parseClientConfig, type ClientConfig, type ConsumerConfig, type ProducerConfig, type ResolvedClientConfig } from './config.js';
import { Consumer } from './consumer.js';
import { Producer } from './producer.js';

/** Internal options, for tests: a substitute transport and clock. */
export type ClientInternals = ClusterInternals;

export class Client {
  readonly config: ResolvedClientConfig;
  /** The cluster layer the client's producers, consumers and admins share; for tests and tools. */
  readonly cluster: Cluster;

  constructor(config: ClientConfig, internals: ClientInternals = {}) {
    this.config = parseClientConfig(config);
    this.cluster = new Cluster(this.config, internals);
  }

  get closed(): boolean {
    return this.cluster.closed;
  }

  producer(config: ProducerConfig = {}): Producer {
    return this.cluster.adopt(new Producer(this.cluster, config));
  }

  consumer(config: ConsumerConfig = {}): Consumer {
    return this.cluster.adopt(new Consumer(this.cluster, config));
  }

  admin(): Admin {
    return this.cluster.adopt(new Admin(this.cluster));
  }

  /** A topic's partitions and their leaders (from the cache while it is fresh). */
  topicMetadata(topic: string): Promise<TopicInfo> {
    return this.cluster.topicMetadata(topic);
  }

  /** Closes producers (flushing them), consumers and admins, then every connection. */
  close(): Promise<void> {
    return this.cluster.close();
  }
}
