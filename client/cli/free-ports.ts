/**
 * Free TCP ports, found by binding listeners on port 0 and reading what the system chose.
 *
 * A cluster's brokers must know every voter's address before any of them starts (`--peers` names
 * them all), so a cluster on free ports cannot let each broker bind port 0 and tell its port
 * afterwards. Instead the ports are found first: all `count` listeners are held open at once (so
 * the system hands out `count` different ports), their ports read, then all closed and passed to the
 * brokers. Between the close and the broker's bind another process could take one of them; that
 * window is milliseconds, and a broker that loses the race fails to start with EADDRINUSE, which the
 * caller reports, rather than running on a port its peers do not know.
 */
import net from 'node:net';

/** `count` distinct ports that were free on `host` a moment ago. */
export async function allocateFreePorts(host: string, count: number): Promise<number[]> {
  if (!Number.isSafeInteger(count) || count < 0) throw new Error(`allocateFreePorts: count must be a non-negative integer, got ${count}`);
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listen(host));
    return servers.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

function listen(host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
