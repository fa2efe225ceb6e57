import { open } from 'node:fs/promises';

/**
 * Refuses a secret file (private key, password, token) that others can read or write. Returns a
 * message to append after the file's name, or undefined when the mode is fine.
 */
export function secretFilePermissionProblem(mode: number): string | undefined {
  if (process.platform === 'win32') return undefined;
  const octal = (mode & 0o777).toString(8);
  if (mode & 0o002) return `is world-writable (mode ${octal}); anyone could replace it. Run: chmod 600 <file>`;
  if (mode & 0o004) {
    return `is world-readable (mode ${octal}); it holds a secret. Run: chmod 600 <file> (Kubernetes: defaultMode 0400 on the secret volume)`;
  }
  return undefined;
}

export type SecretFileResult = { readonly ok: true; readonly data: Buffer } | { readonly ok: false; readonly problem: string };

/**
 * Reads a file holding a secret after checking the mode of the opened handle (the file checked is the
 * file read). `problem` never contains the file's content.
 */
export async function readSecretFile(path: string): Promise<SecretFileResult> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    return { ok: false, problem: `cannot be read (${errorCode(error)})` };
  }
  try {
    const problem = secretFilePermissionProblem((await handle.stat()).mode);
    if (problem !== undefined) return { ok: false, problem };
    return { ok: true, data: await handle.readFile() };
  } catch (error) {
    return { ok: false, problem: `cannot be read (${errorCode(error)})` };
  } finally {
    await handle.close();
  }
}

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
}
