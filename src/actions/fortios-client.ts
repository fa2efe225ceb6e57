import http from 'node:http';
import https from 'node:https';

/**
 * A small JSON-over-HTTP(S) client for the FortiOS REST API (and webhooks): bearer token, `?vdom=`,
 * JSON body, one deadline per call. A call never throws: it returns a value the runner classifies.
 * The token is only ever written into the request header: no message, log or result carries it.
 */

export interface HttpEndpointOptions {
  /** `https://10.0.0.1:8443` (FortiGate) or a webhook's full URL. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  readonly token?: string | undefined;
  /** Sent as `?vdom=` when set. */
  readonly vdom?: string | undefined;
  /** Verify the server certificate (chain and name). */
  readonly verifyTls: boolean;
  /** PEM CA(s) replacing the system CAs. */
  readonly ca?: Buffer | undefined;
  readonly timeoutMs: number;
}

/** A FortiOS error body (`{"http_status":400,"status":"error","error":-3,…}`), kept as FortiOS said it. */
export interface FortiosError {
  /** FortiOS's own error number (`error`), e.g. -3 (not found), -5 (already exists), -651 (invalid value). */
  readonly code?: number | undefined;
  /** `cli_error`, `message` or similar text when FortiOS gave one. */
  readonly message?: string | undefined;
  /** The response body as received (at most 2,000 characters): FortiOS error bodies hold no secrets. */
  readonly body: string;
}

export type CallResult =
  | { readonly ok: true; readonly status: number; readonly body: unknown }
  | { readonly ok: false; readonly kind: 'http'; readonly status: number; readonly fortiosError: FortiosError }
  | { readonly ok: false; readonly kind: 'timeout' | 'network'; readonly message: string };

export interface CallRequest {
  readonly method: 'GET' | 'POST';
  /** Appended to the base URL (`''` for a webhook). */
  readonly path: string;
  readonly body?: unknown;
}

export interface FortiosClient {
  call(request: CallRequest): Promise<CallResult>;
  /** The URL a request goes to (for logs and dry runs; no token in it). */
  urlFor(path: string): string;
  /** Closes the client's sockets. */
  close(): void;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;
const MAX_ERROR_BODY_CHARS = 2000;

export function createFortiosClient(options: HttpEndpointOptions): FortiosClient {
  const base = new URL(options.baseUrl);
  const secure = base.protocol === 'https:';
  // No keep-alive: calls are rare (a few per second at most) and a FortiGate closes idle connections;
  // reusing one it just closed fails the call with ECONNRESET, and that would count as a failed try.
  const agent = secure
    ? new https.Agent({ keepAlive: false, maxSockets: 4, rejectUnauthorized: options.verifyTls, ...(options.ca ? { ca: options.ca } : {}) })
    : new http.Agent({ keepAlive: false, maxSockets: 4 });
  const basePath = options.baseUrl.replace(/\/+$/, '');

  function urlFor(path: string): string {
    const url = new URL(`${basePath}${path}`);
    if (options.vdom !== undefined) url.searchParams.set('vdom', options.vdom);
    return url.toString();
  }

  function call(request: CallRequest): Promise<CallResult> {
    const url = new URL(urlFor(request.path));
    const payload = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'fortistream' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    return new Promise<CallResult>((resolve) => {
      let settled = false;
      const finish = (result: CallResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const send = secure ? https.request : http.request;
      const req = send(url, { method: request.method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        });
        res.on('error', (error) => finish({ ok: false, kind: 'network', message: `response: ${describeNetworkError(error)}` }));
        res.on('end', () => finish(interpret(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      });
      const timer = setTimeout(() => {
        finish({ ok: false, kind: 'timeout', message: `no complete answer from ${url.host} within ${options.timeoutMs} ms` });
        req.destroy();
      }, options.timeoutMs);
      req.on('error', (error) => finish({ ok: false, kind: 'network', message: describeNetworkError(error) }));
      req.end(payload);
    });
  }

  return {
    call,
    urlFor,
    close() {
      agent.destroy();
    },
  };
}

/** 2xx with a JSON `status` other than "error" is success; anything else keeps FortiOS's error. */
function interpret(status: number, text: string): CallResult {
  let body: unknown = text;
  if (text.length > 0) {
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      body = text;
    }
  }
  const fortiosStatus = isRecord(body) && typeof body.status === 'string' ? body.status : undefined;
  if (status >= 200 && status < 300 && fortiosStatus !== 'error') return { ok: true, status, body };
  return { ok: false, kind: 'http', status, fortiosError: fortiosErrorOf(body, text) };
}

function fortiosErrorOf(body: unknown, text: string): FortiosError {
  const code = isRecord(body) && typeof body.error === 'number' ? body.error : undefined;
  let message: string | undefined;
  if (isRecord(body)) {
    for (const field of ['cli_error', 'message', 'error_message', 'reason']) {
      const value = body[field];
      if (typeof value === 'string' && value.length > 0) {
        message = value.slice(0, 500);
        break;
      }
    }
  }
  return { code, message, body: text.slice(0, MAX_ERROR_BODY_CHARS) };
}

/** "HTTP 400, FortiOS error -3: text" — for job failure reasons and logs. */
export function describeCallFailure(result: Exclude<CallResult, { ok: true }>): string {
  if (result.kind !== 'http') return `${result.kind}: ${result.message}`;
  const error = result.fortiosError;
  const parts = [`HTTP ${result.status}`];
  if (error.code !== undefined) parts.push(`FortiOS error ${error.code}`);
  const text = error.message ?? (error.code === undefined && error.body.length > 0 ? error.body.slice(0, 200) : undefined);
  return text === undefined ? parts.join(', ') : `${parts.join(', ')}: ${text}`;
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = 'code' in error && typeof error.code === 'string' ? ` (${error.code})` : '';
  return `${error.message}${code}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
