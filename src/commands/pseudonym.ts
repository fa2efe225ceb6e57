import { loadPipelineFile } from '../config/load.js';
import { FortistreamError } from '../errors.js';
import { KeyringError, loadKeyring } from '../sanitize/keyring.js';
import { canonicalizeIp } from '../sanitize/ip.js';
import { PSEUDONYM_KINDS, pseudonymizeAll, type PseudonymKind } from '../sanitize/pseudonymize.js';
import { defaultPipelinePath, formatTable } from './context.js';

export interface PseudonymOptions {
  readonly value: string;
  readonly profile?: string | undefined;
  /** Entity kind; default `ip` when the value is an address, else `user`. */
  readonly kind?: string | undefined;
  /** Every live key (current first) instead of the current key only. */
  readonly allKeys: boolean;
  readonly json: boolean;
  readonly pipelineFile?: string | undefined;
  readonly print: (line: string) => void;
  readonly nowMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export function isPseudonymKind(value: string): value is PseudonymKind {
  return (PSEUDONYM_KINDS as readonly string[]).includes(value);
}

/**
 * `fortistream pseudonym VALUE`: the pseudonym of an entity under a profile's keyring (read from
 * the same file or variable the worker reads), so an analyst can search the ml/agent streams for it.
 * `--all-keys` prints it under every live key: during a rotation overlap both forms are in the streams.
 */
export async function pseudonymCommand(options: PseudonymOptions): Promise<void> {
  const file = options.pipelineFile ?? defaultPipelinePath();
  const { pipeline } = loadPipelineFile(file);
  const keyed = Object.entries(pipeline.profiles).filter(([, settings]) => settings.keyring !== undefined);
  let name = options.profile;
  if (name === undefined) {
    if (keyed.length !== 1) {
      const names = keyed.map(([n]) => n).join(', ') || 'none';
      throw new FortistreamError('FST_ARGUMENT_INVALID', `${file} has ${keyed.length} profiles with a keyring (${names}); choose one with --profile`);
    }
    name = (keyed[0] as [string, unknown])[0];
  }
  const settings = pipeline.profiles[name];
  if (settings === undefined) throw new FortistreamError('FST_ARGUMENT_INVALID', `${file} has no profile "${name}"`);
  if (settings.keyring === undefined) throw new FortistreamError('FST_ARGUMENT_INVALID', `profile "${name}" (${settings.type}) does not pseudonymize`);
  const kindText = options.kind ?? (canonicalizeIp(options.value) !== undefined ? 'ip' : 'user');
  if (!isPseudonymKind(kindText)) {
    throw new FortistreamError('FST_ARGUMENT_INVALID', `--kind must be one of ${PSEUDONYM_KINDS.join(', ')}`);
  }
  let keyring;
  try {
    keyring = await loadKeyring(settings.keyring, options.env);
  } catch (error) {
    const why = error instanceof KeyringError ? error.message : 'cannot be loaded';
    throw new FortistreamError('FST_KEYRING_INVALID', `profile "${name}": keyring ${why}`);
  }
  const all = pseudonymizeAll(keyring, kindText, options.value, options.nowMs ?? Date.now());
  if (all.length === 0) throw new FortistreamError('FST_ARGUMENT_INVALID', `the value is not a valid ${kindText}`);
  const rows = options.allKeys ? all : all.filter((row) => row.current);
  if (options.json) {
    options.print(
      JSON.stringify({
        profile: name,
        kind: kindText,
        pseudonyms: rows.map((row) => ({
          kid: row.kid,
          pseudonym: row.pseudonym,
          current: row.current,
          ...(row.notAfterMs !== undefined ? { retire_after: new Date(row.notAfterMs).toISOString() } : {}),
        })),
      }),
    );
    return;
  }
  if (!options.allKeys) {
    options.print((rows[0] as { pseudonym: string }).pseudonym);
    return;
  }
  const table = formatTable(
    ['KID', 'PSEUDONYM', 'STATUS'],
    rows.map((row) => [row.kid, row.pseudonym, row.current ? 'current' : row.notAfterMs !== undefined ? `live until ${new Date(row.notAfterMs).toISOString()}` : 'live']),
  );
  for (const line of table) options.print(line);
}
