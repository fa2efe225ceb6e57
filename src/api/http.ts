import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiPrincipal, ApiRole, TokenStore } from './tokens.js';

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  response.end(text);
}

export function problem(response: ServerResponse, status: number, error: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(response, status, { error, message }, headers);
}

/** 405 with an `Allow` header. */
export function methodNotAllowed(response: ServerResponse, allow: readonly string[]): void {
  problem(response, 405, 'method_not_allowed', `use ${allow.join(' or ')}`, { allow: allow.join(', ') });
}

/**
 * The principal of the request when it holds `role`; otherwise answers 401 (no/bad token) or 403
 * (a valid token without the role) and returns undefined. Roles are not hierarchical: a token lists
 * every role it needs.
 */
export function authorize(tokens: TokenStore, request: IncomingMessage, response: ServerResponse, role: ApiRole): ApiPrincipal | undefined {
  const principal = tokens.authenticate(request.headers.authorization);
  if (principal === undefined) {
    problem(response, 401, 'unauthorized', 'a valid bearer token is required', { 'www-authenticate': 'Bearer realm="fortistream"' });
    return undefined;
  }
  if (!principal.roles.has(role)) {
    problem(response, 403, 'forbidden', `token "${principal.name}" lacks the ${role} role`);
    return undefined;
  }
  return principal;
}

export class BodyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Reads the whole request body, refusing more than `limit` bytes (413) before buffering it. */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      request.resume();
      reject(new BodyError(413, 'payload_too_large', `the body may hold at most ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    request.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(new BodyError(413, 'payload_too_large', `the body may hold at most ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    request.on('error', (error) => {
      if (!failed) {
        failed = true;
        reject(error);
      }
    });
  });
}
