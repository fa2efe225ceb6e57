/**
 * A local fake FortiOS REST API for tests: HTTPS (test CA) or HTTP on 127.0.0.1, port 0.
 *
 *   const fortios = await startFakeFortios();            // https, cert from test/fixtures/tls
 *   fortios.script('/api/v2/monitor/user/banned/add_users', fortiosError(500), { hang: true });
 *   …                                                    // calls: 500, then no answer, then 200
 *   fortios.requestsTo('/api/v2/monitor/user/banned/add_users')[0]?.headers.authorization
 *   await fortios.close();
 *
 * Every request is recorded (method, path, query, headers, JSON body, arrival time) before it is
 * answered. Replies are scripted per path and consumed in order; when a path has none left, the
 * reply is a FortiOS-shaped success (`{"status":"success","http_status":200,…}`).
 */
import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

export const TLS_FIXTURES = join(process.cwd(), 'test', 'fixtures', 'tls');
/** The CA that signed the fake server's certificate (CN=localhost, SAN 127.0.0.1, ::1). */
export const TEST_CA_FILE = join(TLS_FIXTURES, 'ca.crt');

export interface RecordedRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  readonly body: unknown;
  readonly rawBody: string;
  /** Date.now() when the request was complete. */
  readonly atMs: number;
}

export type ScriptedReply =
  /** Answer with this status and JSON body (default: FortiOS-shaped success or error for the status). */
  | { readonly status: number; readonly body?: unknown }
  /** Never answer (the client's timeout fires); the socket is closed with the server. */
  | { readonly hang: true }
  /** Close the connection without an answer (a network error for the client). */
  | { readonly reset: true };

export interface FakeFortios {
  /** `https://127.0.0.1:<port>` (or http://). */
  readonly url: string;
  readonly port: number;
  /** Every request so far, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  requestsTo(path: string): RecordedRequest[];
  /** Appends replies for a path, used one per request in order. */
  script(path: string, ...replies: ScriptedReply[]): void;
  /** Forgets recorded requests and scripted replies. */
  reset(): void;
  close(): Promise<void>;
}

/** A FortiOS error reply: `{"http_method":"POST","status":"error","http_status":400,"error":-3,…}`. */
export function fortiosError(status: number, error?: number, extra: Record<string, unknown> = {}): ScriptedReply {
  return { status, body: errorBody(status, error, extra) };
}

function errorBody(status: number, error?: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { http_method: 'POST', status: 'error', http_status: status, ...(error === undefined ? {} : { error }), vdom: 'root', serial: 'FGVMFAKE00000001', version: 'v7.2.8', build: 1639, ...extra };
}

function successBody(request: RecordedRequest): Record<string, unknown> {
  const [, , , , path, name, action] = request.path.split('/');
  return {
    http_method: request.method,
    results: {},
    vdom: request.query.vdom ?? 'root',
    path,
    name,
    ...(action === undefined ? {} : { action }),
    status: 'success',
    http_status: 200,
    serial: 'FGVMFAKE00000001',
    version: 'v7.2.8',
    build: 1639,
  };
}

export async function startFakeFortios(options: { tls?: boolean; cert?: Buffer; key?: Buffer } = {}): Promise<FakeFortios> {
  const requests: RecordedRequest[] = [];
  const scripts = new Map<string, ScriptedReply[]>();
  const sockets = new Set<Socket>();

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      if (rawBody.length > 0) {
        try {
          body = JSON.parse(rawBody) as unknown;
        } catch {
          body = rawBody;
        }
      }
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body,
        rawBody,
        atMs: Date.now(),
      };
      requests.push(recorded);
      const reply = scripts.get(recorded.path)?.shift();
      if (reply !== undefined && 'hang' in reply) return;
      if (reply !== undefined && 'reset' in reply) {
        req.socket.destroy();
        return;
      }
      const status = reply?.status ?? 200;
      const payload = reply?.body ?? (status < 300 ? successBody(recorded) : errorBody(status));
      const text = JSON.stringify(payload);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  };

  const secure = options.tls !== false;
  const server = secure
    ? https.createServer({ cert: options.cert ?? readFileSync(join(TLS_FIXTURES, 'server.crt')), key: options.key ?? readFileSync(join(TLS_FIXTURES, 'server.key')) }, handler)
    : http.createServer(handler);
  server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A client that rejects our certificate closes the handshake: not an error of the fake.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `${secure ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    script(path, ...replies) {
      const list = scripts.get(path) ?? [];
      list.push(...replies);
      scripts.set(path, list);
    },
    reset() {
      requests.length = 0;
      scripts.clear();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
