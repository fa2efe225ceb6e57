import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../errors.js';
import { readSecretFile } from '../security/file-permissions.js';
import type { ApiApp } from './app.js';

export interface ApiServer {
  /** `https` when the server was started with `tls`. */
  readonly protocol: 'http' | 'https';
  /** The bound address (port 0 resolves here). */
  address(): { host: string; port: number };
  /** Ends the SSE streams, stops accepting and closes idle connections. */
  close(): Promise<void>;
}

/** `api.tls` of the pipeline file. */
export interface ApiTlsFiles {
  readonly cert_file: string;
  readonly key_file: string;
}

export interface ApiServerOptions {
  /** Serve HTTPS with this certificate and key (the key file is refused when others can read it). */
  readonly tls?: ApiTlsFiles;
}

/** Splits `HOST:PORT` / `[v6]:PORT`. */
export function parseHostPort(value: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(value);
  if (!match) throw new Error(`expected HOST:PORT, got "${value}"`);
  return { host: match[1] as string, port: Number(match[2]) };
}

/** Reads the certificate and key; the message names the file and what is wrong, never the key. */
async function loadTls(files: ApiTlsFiles): Promise<{ cert: Buffer; key: Buffer }> {
  let cert: Buffer;
  try {
    cert = await readFile(files.cert_file);
  } catch (error) {
    throw new Error(`api.tls.cert_file ${files.cert_file} cannot be read (${errorMessage(error)})`);
  }
  const key = await readSecretFile(files.key_file);
  if (!key.ok) throw new Error(`api.tls.key_file ${files.key_file} ${key.problem}`);
  return { cert, key: key.data };
}

/** Serves `app` on `address` (`HOST:PORT`), over HTTPS when `options.tls` is given; resolves once listening. */
export async function startApiServer(app: ApiApp, address: string, options: ApiServerOptions = {}): Promise<ApiServer> {
  const { host, port } = parseHostPort(address);
  const server: Server = options.tls ? createHttpsServer({ ...(await loadTls(options.tls)), minVersion: 'TLSv1.2' }, app) : createServer(app);
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
    protocol: options.tls ? 'https' : 'http',
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
