import { spawn } from 'node:child_process';
import { Cluster, Redis } from 'ioredis';
import { findFreePort, startPrivateRedis, type PrivateRedis } from '../../src/runtime/redis-server.js';

/** A local Redis Cluster of three masters (no replicas) that this test process started and owns. */
export interface LocalRedisCluster {
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  /** A new ioredis Cluster client on the nodes; close it yourself. */
  client(): Cluster;
  /** Stops every node and removes their folders. */
  stop(): Promise<void>;
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${String(code)}: ${output.trim()}`));
    });
  });
}

async function waitForClusterOk(ports: readonly number[], timeoutMs: number): Promise<void> {
  const clients = ports.map((port) => new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 1 }));
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.cluster('INFO')));
      if (infos.every((info) => /cluster_state:ok/.test(String(info)))) return;
      if (Date.now() > deadline) throw new Error(`cluster not ok within ${timeoutMs} ms: ${infos.map(String).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  }
}

/**
 * Builds a 3-master cluster on loopback: `redis-server --cluster-enabled yes` three times (free
 * client and bus ports, each in its own temp folder), `redis-cli --cluster create … --cluster-yes`,
 * then waits until every node reports `cluster_state:ok`. Takes about a second or two.
 */
export async function startLocalRedisCluster(options: { masters?: number } = {}): Promise<LocalRedisCluster> {
  const count = options.masters ?? 3;
  const servers: PrivateRedis[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    for (let i = 0; i < count; i += 1) {
      // The cluster bus defaults to port + 10000, which may be taken: pick it explicitly.
      const busPort = await findFreePort();
      servers.push(
        await startPrivateRedis({
          extraArgs: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', 'nodes.conf',
            '--cluster-port', String(busPort),
            '--cluster-node-timeout', '5000',
          ],
        }),
      );
    }
    const ports = servers.map((s) => s.port);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], 30_000);
    await waitForClusterOk(ports, 20_000);
    const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
    return {
      nodes,
      client: () => new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 3 } }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
