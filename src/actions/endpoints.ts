import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { FortistreamError } from '../errors.js';
import { readSecretFile } from '../security/file-permissions.js';
import { createFortiosClient, type FortiosClient } from './fortios-client.js';
import type { DeviceSettings, DevicesSettings, WebhookSettings } from './settings.js';

/**
 * Turns `devices` and `actions.webhooks` into ready HTTP clients: tokens read once (files refused
 * when others can read them), CA files read, warnings logged for what weakens transport security.
 */

export interface DeviceEndpoint {
  readonly name: string;
  readonly settings: DeviceSettings;
  readonly client: FortiosClient;
}

export interface WebhookEndpoint {
  readonly name: string;
  readonly settings: WebhookSettings;
  readonly client: FortiosClient;
}

export interface Endpoints {
  readonly devices: ReadonlyMap<string, DeviceEndpoint>;
  readonly webhooks: ReadonlyMap<string, WebhookEndpoint>;
  close(): void;
}

/** A token goes into a header: printable ASCII without spaces, so it cannot smuggle a header line. */
const TOKEN_SYNTAX = /^[\x21-\x7e]{1,4096}$/;

async function readToken(
  source: { token_file?: string | undefined; token_env?: string | undefined },
  what: string,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  let token: string | undefined;
  if (source.token_file !== undefined) {
    const result = await readSecretFile(source.token_file);
    if (!result.ok) {
      throw new FortistreamError('FST_DEVICE_TOKEN_INVALID', `${what} token_file ${source.token_file} ${result.problem.replace('<file>', source.token_file)}`);
    }
    token = (result.data.toString('utf8').split(/\r?\n/)[0] ?? '').trim();
    if (token.length === 0) throw new FortistreamError('FST_DEVICE_TOKEN_INVALID', `${what} token_file ${source.token_file} is empty (the token is its first line)`);
  } else if (source.token_env !== undefined) {
    token = env[source.token_env]?.trim();
    if (!token) throw new FortistreamError('FST_DEVICE_TOKEN_INVALID', `${what} token_env: environment variable ${source.token_env} is not set or empty`);
  }
  if (token !== undefined && !TOKEN_SYNTAX.test(token)) {
    // The message never shows the token: only where it came from.
    throw new FortistreamError('FST_DEVICE_TOKEN_INVALID', `${what} token (${source.token_file ?? `$${source.token_env ?? ''}`}) holds spaces or control characters; a REST API token is one word`);
  }
  return token;
}

async function readCa(file: string | undefined, what: string): Promise<Buffer | undefined> {
  if (file === undefined) return undefined;
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
    throw new FortistreamError('FST_CONFIG_INVALID', `${what} ca_file ${file} cannot be read (${code})`);
  }
  if (!data.includes('-----BEGIN ')) throw new FortistreamError('FST_CONFIG_INVALID', `${what} ca_file ${file} is not a PEM file (no -----BEGIN line)`);
  return data;
}

function warnTransport(logger: Logger | undefined, what: string, url: string, verifyTls: boolean): void {
  if (url.startsWith('http://')) {
    logger?.warn({ endpoint: what, base_url: url }, `${what} is called over plain http://: the bearer token crosses the network in clear; use https://`);
  } else if (!verifyTls) {
    logger?.warn({ endpoint: what, base_url: url }, `${what}: verify_tls is false, the server certificate is NOT verified (anyone on the path can impersonate it and read the token)`);
  }
}

/** Reads every token and CA file; throws FST_DEVICE_TOKEN_INVALID / FST_CONFIG_INVALID naming the file, never a secret. */
export async function loadEndpoints(
  devices: DevicesSettings | undefined,
  webhooks: Readonly<Record<string, WebhookSettings>> | undefined,
  options: { env?: NodeJS.ProcessEnv; logger?: Logger } = {},
): Promise<Endpoints> {
  const env = options.env ?? process.env;
  const deviceMap = new Map<string, DeviceEndpoint>();
  const webhookMap = new Map<string, WebhookEndpoint>();
  const close = (): void => {
    for (const endpoint of [...deviceMap.values(), ...webhookMap.values()]) endpoint.client.close();
  };
  try {
    for (const [name, settings] of Object.entries(devices ?? {})) {
      const what = `device "${name}"`;
      const token = await readToken(settings, what, env);
      const ca = await readCa(settings.ca_file, what);
      warnTransport(options.logger, what, settings.base_url, settings.verify_tls);
      if (settings.dry_run) options.logger?.info({ device: name }, `${what} is in dry-run mode: its calls are logged and audited, never made`);
      const client = createFortiosClient({ baseUrl: settings.base_url, token, vdom: settings.vdom, verifyTls: settings.verify_tls, ca, timeoutMs: settings.timeout_ms });
      deviceMap.set(name, { name, settings, client });
    }
    for (const [name, settings] of Object.entries(webhooks ?? {})) {
      const what = `webhook "${name}"`;
      const token = await readToken(settings, what, env);
      const ca = await readCa(settings.ca_file, what);
      warnTransport(options.logger, what, settings.url, settings.verify_tls);
      const client = createFortiosClient({ baseUrl: settings.url, token, verifyTls: settings.verify_tls, ca, timeoutMs: settings.timeout_ms });
      webhookMap.set(name, { name, settings, client });
    }
  } catch (error) {
    close();
    throw error;
  }
  return { devices: deviceMap, webhooks: webhookMap, close };
}
