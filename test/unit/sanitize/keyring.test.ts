import { chmodSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyringError, loadKeyring, loadKeyringEnv, loadKeyringFile, parseKeyring, watchKeyring } from '../../../src/sanitize/keyring.js';
import type { Keyring } from '../../../src/sanitize/pseudonymize.js';

const SECRET_1 = Buffer.alloc(32, 0x11).toString('base64');
const SECRET_2 = Buffer.alloc(48, 0x22).toString('base64');
const SHORT = Buffer.alloc(16, 0x33).toString('base64');

const doc = (current: string, keys: object[]): string => JSON.stringify({ current, keys });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fortistream-keyring-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeKeyFile(name: string, text: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

async function expectKeyringError(promise: Promise<unknown>, code: string, ...fragments: string[]): Promise<KeyringError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeyringError);
  const keyringError = error as KeyringError;
  expect(keyringError.code).toBe(code);
  for (const fragment of fragments) expect(keyringError.message).toContain(fragment);
  return keyringError;
}

describe('parseKeyring', () => {
  it('parses JSON with rotation metadata', () => {
    const keyring = parseKeyring(
      doc('k2', [
        { id: 'k1', secret_base64: SECRET_1, retire_after: '2026-12-31T00:00:00Z' },
        { id: 'k2', secret_base64: SECRET_2 },
      ]),
      'test',
    );
    expect(keyring.current).toBe('k2');
    expect(keyring.keys.get('k1')).toEqual({ secret: Buffer.alloc(32, 0x11), notAfterMs: Date.parse('2026-12-31T00:00:00Z') });
    expect(keyring.keys.get('k2')?.secret.length).toBe(48);
  });

  it('parses YAML', () => {
    const keyring = parseKeyring(`current: k1\nkeys:\n  - id: k1\n    secret_base64: "${SECRET_1}"\n`, 'test');
    expect(keyring.keys.get('k1')?.secret.equals(Buffer.alloc(32, 0x11))).toBe(true);
  });

  it.each([
    ['short secret', doc('k1', [{ id: 'k1', secret_base64: SHORT }]), ['keys.0.secret_base64', '16 bytes', 'at least 32']],
    ['not base64', doc('k1', [{ id: 'k1', secret_base64: 'not base64 at all!!' }]), ['not base64']],
    ['unknown current', doc('k3', [{ id: 'k1', secret_base64: SECRET_1 }]), ['current names no key']],
    ['duplicate id', doc('k1', [{ id: 'k1', secret_base64: SECRET_1 }, { id: 'k1', secret_base64: SECRET_2 }]), ['duplicate key id']],
    ['bad kid', doc('k:1', [{ id: 'k:1', secret_base64: SECRET_1 }]), ['current must be 1–32']],
    ['bad date', doc('k1', [{ id: 'k1', secret_base64: SECRET_1, retire_after: 'tomorrow' }]), ['retire_after']],
    ['unknown key', JSON.stringify({ current: 'k1', keys: [{ id: 'k1', secret_base64: SECRET_1 }], extra: 1 }), ['extra']],
    ['no keys', doc('k1', []), ['at least one key']],
  ])('refuses %s with a clear message that never shows a secret', (_name, text, fragments) => {
    let error: unknown;
    try {
      parseKeyring(text, 'keys.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeyringError);
    const message = (error as KeyringError).message;
    expect(message.startsWith('keys.json: ')).toBe(true);
    for (const fragment of fragments) expect(message).toContain(fragment);
    for (const secret of [SECRET_1, SECRET_2, SHORT, SECRET_1.slice(0, 12), SHORT.slice(0, 12)]) expect(message).not.toContain(secret);
  });

  it('does not echo the source of a syntax error (it may hold a secret)', () => {
    const text = `{"current": "k1", "keys": [{"id": "k1", "secret_base64": "${SECRET_1}" ]}`;
    expect(() => parseKeyring(text, 'k.json')).toThrow(KeyringError);
    try {
      parseKeyring(text, 'k.json');
    } catch (e) {
      expect((e as Error).message).not.toContain(SECRET_1.slice(0, 10));
      expect((e as Error).message).toContain('not valid JSON or YAML');
    }
  });
});

describe('loadKeyringFile / loadKeyringEnv', () => {
  const good = doc('k1', [{ id: 'k1', secret_base64: SECRET_1 }]);

  it('loads a 0600 file', async () => {
    const keyring = await loadKeyringFile(writeKeyFile('keys.json', good));
    expect(keyring.current).toBe('k1');
  });

  it('refuses a world-readable file and says how to fix it', async () => {
    const path = writeKeyFile('keys.json', good, 0o644);
    await expectKeyringError(loadKeyringFile(path), 'keyring_permissions', path, 'world-readable', 'chmod 600');
  });

  it('refuses a world-writable file', async () => {
    await expectKeyringError(loadKeyringFile(writeKeyFile('keys.json', good, 0o602)), 'keyring_permissions', 'world-writable');
  });

  it('reports a missing file without throwing raw fs errors', async () => {
    await expectKeyringError(loadKeyringFile(join(dir, 'missing.json')), 'keyring_unreadable', 'ENOENT');
  });

  it('loads from an environment variable (the form secret sidecars render)', async () => {
    expect(loadKeyringEnv('KEYS', { KEYS: good }).current).toBe('k1');
    expect((await loadKeyring({ env: 'KEYS' }, { KEYS: good })).current).toBe('k1');
    expect(() => loadKeyringEnv('NOPE', {})).toThrow(/env:NOPE: is not set/);
  });
});

describe('watchKeyring', () => {
  const v1 = doc('k1', [{ id: 'k1', secret_base64: SECRET_1 }]);
  const v2 = doc('k2', [
    { id: 'k1', secret_base64: SECRET_1, retire_after: '2030-01-01T00:00:00Z' },
    { id: 'k2', secret_base64: SECRET_2 },
  ]);

  function nextChange(changes: Keyring[], count: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const poll = (): void => {
        if (changes.length >= count) resolve();
        else if (Date.now() - started > 5_000) reject(new Error('no change seen'));
        else setTimeout(poll, 20);
      };
      poll();
    });
  }

  it('re-reads on change (atomic rename), keeps the old keyring on a bad file, reload() for SIGHUP', async () => {
    const path = writeKeyFile('keys.json', v1);
    const changes: Keyring[] = [];
    const errors: KeyringError[] = [];
    const watcher = await watchKeyring(path, (k) => changes.push(k), (e) => errors.push(e), { debounceMs: 30 });
    try {
      expect(watcher.current().current).toBe('k1');

      // the way a sidecar writes: temp file, then rename over the original
      const temp = writeKeyFile('.keys.json.tmp', v2);
      renameSync(temp, path);
      await nextChange(changes, 1);
      expect(watcher.current().current).toBe('k2');

      // a bad file: the old keyring stays, the error is reported
      writeFileSync(path, doc('k3', [{ id: 'k3', secret_base64: SHORT }]));
      expect(await watcher.reload()).toBe('failed');
      expect(watcher.current().current).toBe('k2');
      expect(errors.at(-1)?.code).toBe('keyring_invalid');

      // permissions loosened: refused, old keyring kept
      writeFileSync(path, v1);
      chmodSync(path, 0o644);
      expect(await watcher.reload()).toBe('failed');
      expect(errors.at(-1)?.code).toBe('keyring_permissions');
      expect(watcher.current().current).toBe('k2');

      chmodSync(path, 0o600);
      // the directory watch may have picked the chmod up first: either way k1 is in force now
      expect(['changed', 'unchanged']).toContain(await watcher.reload());
      expect(watcher.current().current).toBe('k1');
      expect(await watcher.reload()).toBe('unchanged');
    } finally {
      watcher.close();
    }
  });
});
