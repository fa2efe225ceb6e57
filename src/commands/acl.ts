import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { loadPipelineFile } from '../config/load.js';
import { FortistreamError } from '../errors.js';
import { deriveAclRules, formatAclRules, type AclPassword, type AclUserNames } from '../security/acl.js';
import { defaultPipelinePath } from './context.js';

export interface AclCommandOptions {
  readonly pipelineFile?: string | undefined;
  readonly user?: string | undefined;
  readonly readerUser?: string | undefined;
  readonly consumerUser?: string | undefined;
  /** Password of the worker user (first line of the file); printed as its SHA-256 (`#…`), never in clear. */
  readonly passwordFile?: string | undefined;
  readonly readerPasswordFile?: string | undefined;
  readonly consumerPasswordFile?: string | undefined;
  /** `user NAME …` lines for an ACL file instead of `ACL SETUSER NAME …`. */
  readonly aclFile?: boolean | undefined;
  readonly json: boolean;
  readonly print: (line: string) => void;
}

/**
 * Reads a password file (first line, surrounding whitespace trimmed) and returns its SHA-256 as an
 * ACL `#<hash>` password. Refuses files others can read or write; error messages never quote the file.
 */
export function passwordHashFromFile(file: string): AclPassword {
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const why = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new FortistreamError('FST_INPUT_UNREADABLE', `cannot read password file ${file} (${why})`);
  }
  if (process.platform !== 'win32' && (mode & 0o006) !== 0) {
    throw new FortistreamError(
      'FST_ARGUMENT_INVALID',
      `password file ${file} is world-${mode & 0o002 ? 'writable' : 'readable'} (mode ${(mode & 0o777).toString(8)}). Run: chmod 600 ${file}`,
    );
  }
  const password = (text.split(/\r?\n/, 1)[0] ?? '').trim();
  if (password.length === 0) throw new FortistreamError('FST_ARGUMENT_INVALID', `password file ${file}: the first line is empty`);
  if (/\s/.test(password)) throw new FortistreamError('FST_ARGUMENT_INVALID', `password file ${file}: the password must not contain whitespace`);
  return { sha256: createHash('sha256').update(password, 'utf8').digest('hex') };
}

/**
 * `fortistream acl [--user NAME] [--reader-user NAME] [--consumer-user NAME] [--password-file F] [--json]`:
 * prints the Redis ACL users (worker, read-only reader, consumer-group reader) derived from the pipeline.
 */
export function aclCommand(options: AclCommandOptions): void {
  const { pipeline } = loadPipelineFile(options.pipelineFile ?? defaultPipelinePath());
  const users: Partial<AclUserNames> = {
    ...(options.user !== undefined && { worker: options.user }),
    ...(options.readerUser !== undefined && { reader: options.readerUser }),
    ...(options.consumerUser !== undefined && { consumer: options.consumerUser }),
  };
  const passwords: Partial<Record<keyof AclUserNames, AclPassword>> = {
    ...(options.passwordFile !== undefined && { worker: passwordHashFromFile(options.passwordFile) }),
    ...(options.readerPasswordFile !== undefined && { reader: passwordHashFromFile(options.readerPasswordFile) }),
    ...(options.consumerPasswordFile !== undefined && { consumer: passwordHashFromFile(options.consumerPasswordFile) }),
  };
  let rules;
  try {
    rules = deriveAclRules(pipeline, { users, passwords });
  } catch (error) {
    throw new FortistreamError('FST_ARGUMENT_INVALID', error instanceof Error ? error.message : String(error));
  }
  if (options.json) {
    const user = (role: keyof AclUserNames, rule: string): Record<string, unknown> => ({
      name: rules.users[role],
      rule,
      setuser: `ACL SETUSER ${rules.users[role]} ${rule}`,
      commands: rules.commands[role],
    });
    options.print(
      JSON.stringify(
        {
          key_pattern: rules.keyPattern,
          worker: user('worker', rules.worker),
          reader: user('reader', rules.reader),
          consumer: user('consumer', rules.consumer),
        },
        null,
        2,
      ),
    );
    return;
  }
  for (const line of formatAclRules(rules, options.aclFile ? 'aclfile' : 'cli')) options.print(line);
}
