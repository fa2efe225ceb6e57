import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiApp } from './app.js';

export interface ApiServer {
  /** The bound address (port 0 resolves here). */
  address(): { host: string; port: number };
  /** Ends the SSE streams, stops accepting and closes idle connections. */
  close(): Promise<void>;
}

/** Splits `HOST:PORT` / `[v6]:PORT`. */
export function parseHostPort(value: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(value);
  if (!match) throw new Error(`expected HOST:PORT, got "${value}"`);
  return { host: match[1] as string, port: Number(match[2]) };
}

/** Serves `app` on `address` (`HOST:PORT`); resolves once listening. */
export async function startApiServer(app: ApiApp, address: string): Promise<ApiServer> {
  const { host, port } = parseHostPort(address);
  const server: Server = createServer(app);
  // SSE responses are long-lived by design; only the request head has a deadline
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address() {
      const bound = server.address() as AddressInfo;
      return { host: bound.address, port: bound.port };
    },
    async close() {
      await app.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}
