import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { command } from './encode.js';
import { RespReplyReader } from './reply-reader.js';

/** TLS settings for `rediss://` URLs (passed to `tls.connect`). */
export interface RespTlsOptions {
  readonly ca?: string | Buffer | (string | Buffer)[];
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly rejectUnauthorized?: boolean;
  /** SNI name; defaults to the URL host when it is not an IP address. */
  readonly servername?: string;
}

export interface RespConnectionOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS). */
  readonly url: string;
  readonly tls?: RespTlsOptions;
  /** Give up connecting after this long (default 10 s). */
  readonly connectTimeoutMs?: number;
}

/** An error reply to one of the commands of a request: its position and the Redis error text. */
export interface ReplyError {
  readonly index: number;
  readonly message: string;
}

interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
}

/** Parses a Redis URL; the password is URL-decoded; the db is the path (`/3`). */
export function parseRedisUrl(url: string): Endpoint {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`unsupported Redis URL scheme "${parsed.protocol}" (redis:// or rediss://)`);
  }
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new Error(`bad database "${dbText}" in the Redis URL`);
  return {
    host: host === '' ? '127.0.0.1' : host,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    secure: parsed.protocol === 'rediss:',
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    db,
  };
}

interface Request {
  /** Replies still expected. */
  remaining: number;
  /** Position of the next reply within the request. */
  next: number;
  errors: ReplyError[] | undefined;
  /** AUTH/SELECT sent on connect: an error reply there fails the connection. */
  readonly handshake: boolean;
  resolve(errors: readonly ReplyError[]): void;
  reject(error: Error): void;
}

/** One socket and the requests waiting for its replies (FIFO: Redis answers in order). */
interface Link {
  readonly socket: Socket;
  readonly queue: Request[];
  /** Set once the socket failed or is closing: the next send opens a new link. */
  broken: boolean;
  failure: Error | undefined;
}

const NO_ERRORS: readonly ReplyError[] = Object.freeze([]);

/**
 * A raw RESP2 connection that sends pre-encoded commands and counts their replies. Connects lazily on
 * the first `send`; when the socket fails, every waiting request rejects and the next `send` reconnects.
 * Never emits: failures only reach callers as rejections.
 */
export class RespConnection {
  private readonly endpoint: Endpoint;
  private link: Link | undefined;
  private closed = false;

  constructor(private readonly options: RespConnectionOptions) {
    this.endpoint = parseRedisUrl(options.url);
  }

  /** `host:port`, for messages (never the credentials). */
  get address(): string {
    return `${this.endpoint.host}:${this.endpoint.port}`;
  }

  /**
   * Writes `payload` (holding `replies` commands) and resolves with the error replies among them (an
   * empty array when all succeeded). Rejects when the connection fails before all replies arrived.
   */
  send(payload: Buffer | string, replies: number): Promise<readonly ReplyError[]> {
    if (this.closed) return Promise.reject(new Error(`connection to ${this.address} is closed`));
    const link = this.link !== undefined && !this.link.broken ? this.link : this.open();
    return new Promise((resolve, reject) => {
      link.queue.push({ remaining: replies, next: 0, errors: undefined, handshake: false, resolve, reject });
      link.socket.write(payload);
    });
  }

  /** Ends the socket (after the replies already on their way); later sends reject. */
  async close(): Promise<void> {
    this.closed = true;
    const link = this.link;
    this.link = undefined;
    if (link === undefined || link.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => link.socket.destroy(), 2000);
      link.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      link.socket.end();
    });
  }

  private open(): Link {
    const { host, port, secure, username, password, db } = this.endpoint;
    const tls = this.options.tls;
    const socket: Socket = secure
      ? tlsConnect({
          host,
          port,
          ...(isIP(host) === 0 ? { servername: host } : {}),
          ...tls,
        })
      : netConnect({ host, port });
    const link: Link = { socket, queue: [], broken: false, failure: undefined };
    this.link = link;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    const fail = (error: Error): void => {
      link.broken = true;
      link.failure ??= error;
      socket.destroy();
    };
    const reader = new RespReplyReader((error) => this.onReply(link, error, fail));
    socket.setTimeout(this.options.connectTimeoutMs ?? 10_000, () => fail(new Error(`connect timed out`)));
    socket.once(secure ? 'secureConnect' : 'connect', () => socket.setTimeout(0));
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.feed(chunk);
      } catch (error) {
        fail(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.on('error', (error) => fail(error));
    socket.on('end', () => fail(new Error('server closed the connection')));
    socket.on('close', () => {
      link.broken = true;
      if (this.link === link) this.link = undefined;
      const reason = link.failure?.message ?? 'connection closed';
      const error = new Error(`redis connection to ${this.address} lost: ${reason}`, { cause: link.failure });
      const waiting = link.queue.splice(0);
      for (const request of waiting) request.reject(error);
    });

    let handshake = '';
    let handshakeReplies = 0;
    if (password !== undefined) {
      handshake += username === undefined ? command('AUTH', password) : command('AUTH', username, password);
      handshakeReplies += 1;
    }
    if (db !== 0) {
      handshake += command('SELECT', String(db));
      handshakeReplies += 1;
    }
    if (handshakeReplies > 0) {
      link.queue.push({
        remaining: handshakeReplies,
        next: 0,
        errors: undefined,
        handshake: true,
        resolve: () => {},
        reject: () => {},
      });
      socket.write(handshake);
    }
    return link;
  }

  private onReply(link: Link, error: string | undefined, fail: (error: Error) => void): void {
    // The rest of a chunk after a failure (e.g. NOAUTH replies following a failed AUTH) is ignored.
    if (link.broken) return;
    const request = link.queue[0];
    if (request === undefined) {
      fail(new Error('reply received with no command waiting (protocol out of sync)'));
      return;
    }
    if (error !== undefined) {
      if (request.handshake) {
        fail(new Error(`${request.next === 0 && this.endpoint.password !== undefined ? 'AUTH' : 'SELECT'} failed: ${error}`));
        return;
      }
      (request.errors ??= []).push({ index: request.next, message: error });
    }
    request.next += 1;
    request.remaining -= 1;
    if (request.remaining === 0) {
      link.queue.shift();
      request.resolve(request.errors ?? NO_ERRORS);
    }
  }
}
