import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FortistreamError } from '../errors.js';
import { KeyringError, keyringDocumentSchema, loadKeyringFile, type KeyringDocument } from '../sanitize/keyring.js';

export interface KeygenOptions {
  readonly file: string;
  /** Id of the new key; default `k<YYYYMMDD>` (with a suffix when taken). */
  readonly kid?: string | undefined;
  /** Ends the rotation overlap of the key that was current (RFC 3339). */
  readonly retirePreviousAfter?: string | undefined;
  readonly print: (line: string) => void;
  readonly nowMs?: number;
}

function defaultKid(nowMs: number, taken: ReadonlySet<string>): string {
  const base = `k${new Date(nowMs).toISOString().slice(0, 10).replaceAll('-', '')}`;
  if (!taken.has(base)) return base;
  for (let n = 2; ; n += 1) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await readFile(path);
    return true;
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT') return false;
    throw new FortistreamError('FST_KEYRING_INVALID', `${path} cannot be read`);
  }
}

/** Writes `text` next to `path` with mode 600, then renames it over `path` (watchers see one change). */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(temp, 0o600);
  await rename(temp, path);
}

/**
 * `fortistream keygen FILE`: creates a keyring file (mode 600) with one random 32-byte key, or adds a
 * new key to an existing one and makes it current (the rotation step); never prints a secret.
 */
export async function keygenCommand(options: KeygenOptions): Promise<void> {
  const nowMs = options.nowMs ?? Date.now();
  let document: KeyringDocument;
  let previous: string | undefined;
  if (await exists(options.file)) {
    try {
      await loadKeyringFile(options.file); // permissions and validity, with the usual messages
    } catch (error) {
      throw new FortistreamError('FST_KEYRING_INVALID', error instanceof KeyringError ? error.message : `${options.file} cannot be read`);
    }
    document = keyringDocumentSchema.parse(parseYaml(await readFile(options.file, 'utf8')));
    previous = document.current;
  } else {
    document = { current: '', keys: [] };
  }
  const taken = new Set(document.keys.map((key) => key.id));
  const kid = options.kid ?? defaultKid(nowMs, taken);
  if (taken.has(kid)) throw new FortistreamError('FST_ARGUMENT_INVALID', `${options.file} already has a key "${kid}"`);
  const keys = document.keys.map((key) =>
    key.id === previous && options.retirePreviousAfter !== undefined ? { ...key, retire_after: options.retirePreviousAfter } : key,
  );
  keys.push({ id: kid, secret_base64: randomBytes(32).toString('base64') });
  const next = { current: kid, keys };
  const checked = keyringDocumentSchema.safeParse(next);
  if (!checked.success) {
    const why = checked.error.issues.map((issue) => `${issue.path.map(String).join('.')} ${issue.message}`).join('; ');
    throw new FortistreamError('FST_ARGUMENT_INVALID', `the new keyring would be invalid: ${why}`);
  }
  await writeAtomically(options.file, `${JSON.stringify(next, null, 2)}\n`);
  if (previous === undefined) {
    options.print(`${options.file}: created with key "${kid}" (current), mode 600`);
  } else {
    const overlap = options.retirePreviousAfter !== undefined ? `, live until ${options.retirePreviousAfter}` : ', live until removed';
    options.print(`${options.file}: added key "${kid}" (current); "${previous}" kept for look-ups${overlap}`);
    options.print('running workers pick the change up from the file watch, or send SIGHUP');
  }
}
