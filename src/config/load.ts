import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { FortistreamError, errorMessage } from '../errors.js';
import { interpolateEnv, type InterpolationProblem } from './interpolate.js';
import { applyOverrides, type PipelineOverrides } from './overrides.js';
import { pipelineFileSchema, type PipelineFile } from './pipeline.js';

/** A validated, frozen pipeline and the file it came from. */
export interface LoadedPipeline {
  readonly file: string;
  readonly pipeline: Readonly<PipelineFile>;
}

/** Reads, interpolates, validates and freezes a pipeline file. Throws FortistreamError with one line per problem. */
export function loadPipelineFile(
  file: string,
  options: { env?: NodeJS.ProcessEnv; overrides?: PipelineOverrides } = {},
): LoadedPipeline {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new FortistreamError('FST_CONFIG_UNREADABLE', `cannot read pipeline file ${file}: ${errorMessage(error)}`);
  }
  return { file, pipeline: parsePipelineText(text, file, options) };
}

/** Validates pipeline YAML text; `file` only labels the messages. */
export function parsePipelineText(
  text: string,
  file: string,
  options: { env?: NodeJS.ProcessEnv; overrides?: PipelineOverrides } = {},
): Readonly<PipelineFile> {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const details = document.errors.map((e) => `${file}: ${e.message.split('\n')[0] ?? e.message}`);
    throw new FortistreamError('FST_CONFIG_UNREADABLE', `${file} is not valid YAML`, { details });
  }
  const raw: unknown = document.toJS() ?? {};
  const problems: InterpolationProblem[] = [];
  const interpolated = interpolateEnv(raw, options.env ?? process.env, problems);
  const overridden = options.overrides ? applyOverrides(interpolated, options.overrides) : interpolated;
  const details = problems.map((p) => `${file}: ${p.path}: environment variable ${p.variable} is not set and has no default`);
  const parsed = pipelineFileSchema.safeParse(overridden);
  if (!parsed.success) details.push(...formatIssues(file, parsed.error.issues));
  if (details.length > 0 || !parsed.success) {
    throw new FortistreamError('FST_CONFIG_INVALID', `${file} has ${details.length} problem(s)`, { details });
  }
  return deepFreeze(parsed.data);
}

/** `file: key.path: what was expected` for each zod issue, recursing into union branches. */
export function formatIssues(file: string, issues: readonly z.core.$ZodIssue[], base: PropertyKey[] = []): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path].map(String).join('.') || '(top level)';
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branch = issue.errors.find((branchIssues) => branchIssues.length > 0);
      if (branch) {
        lines.push(...formatIssues(file, branch, [...base, ...issue.path]));
        continue;
      }
    }
    lines.push(`${file}: ${path}: ${describeIssue(issue)}`);
  }
  return lines;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    default:
      return issue.message;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
