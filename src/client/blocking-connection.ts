import type { Cluster, Redis } from 'ioredis';
import type { ConsumerRedis } from './dead-letter.js';

/**
 * A dedicated connection for blocking reads (`XREAD`/`XREADGROUP … BLOCK`), so a blocked read never
 * delays commands on the shared client, and a way to end a blocked read at once.
 */
export interface BlockingConnection {
  /** Runs one blocking command on the dedicated connection; `interrupt()` can end it early. */
  read(command: string, ...args: (string | number)[]): Promise<unknown>;
  /**
   * Ends a read in progress: `CLIENT UNBLOCK` sent on the shared client (the read then returns as on
   * a timeout, and the connection stays usable), or — on a Cluster, without the permission, or when
   * the read had not reached the server yet — closing the dedicated connection (the read rejects).
   */
  interrupt(): Promise<void>;
  /** Closes the dedicated connection (QUIT, or a hard close if that fails). */
  close(): Promise<void>;
}

function isClusterClient(redis: ConsumerRedis): redis is Cluster {
  return redis.isCluster;
}

export function createBlockingConnection(redis: ConsumerRedis, onError: (error: unknown) => void): BlockingConnection {
  const cluster = isClusterClient(redis);
  let connection: ConsumerRedis;
  if (isClusterClient(redis)) {
    connection = redis.duplicate();
  } else {
    const single: Redis = redis;
    connection = single.duplicate();
  }
  connection.on('error', onError);
  let clientId: string | undefined;
  let reading = false;
  let closed = false;
  if (!cluster) {
    // Learn the server-side id of the connection (again after every reconnect) for CLIENT UNBLOCK.
    connection.on('ready', () => {
      clientId = undefined;
      connection.call('CLIENT', 'ID').then(
        (id) => {
          clientId = String(id);
        },
        () => undefined,
      );
    });
  }

  return {
    async read(command: string, ...args: (string | number)[]): Promise<unknown> {
      reading = true;
      try {
        return await connection.call(command, ...args);
      } finally {
        reading = false;
      }
    },
    async interrupt(): Promise<void> {
      if (!reading || closed) return;
      if (clientId !== undefined) {
        const unblocked = await redis.call('CLIENT', 'UNBLOCK', clientId).catch(() => 0);
        if (Number(unblocked) === 1) return;
      }
      if (reading) {
        closed = true;
        connection.disconnect();
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
