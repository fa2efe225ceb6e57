/**
 * The pipeline file reference (docs/pipelines.md), generated from the schemas themselves (their
 * `.describe()` texts, defaults and bounds through zod's JSON Schema), so it cannot drift from what
 * `fortistream check` accepts: a unit test compares the file with this output
 * (`npm run docs` rewrites it).
 */
import { z } from 'zod';
import { pipelineFileSchema } from './pipeline.js';

type Json = { [key: string]: unknown };

interface Row {
  readonly path: string;
  readonly type: string;
  readonly defaultValue: string;
  readonly description: string;
}

function asJson(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

function inline(value: unknown): string {
  return `\`${JSON.stringify(value)}\``;
}

/** A one-line type: `integer 1–600`, `string (one of …)`, `array of string`, `object`. */
function typeOf(node: Json): string {
  if (Array.isArray(node.enum)) return `one of ${(node.enum as unknown[]).map(inline).join(', ')}`;
  if (node.const !== undefined) return inline(node.const);
  const variants = (node.anyOf ?? node.oneOf) as unknown[] | undefined;
  if (Array.isArray(variants)) return variants.map((v) => typeOf(asJson(v) ?? {})).join(' or ');
  const type = node.type;
  if (type === 'array') return `array of ${typeOf(asJson(node.items) ?? {})}`;
  if (type === 'integer' || type === 'number') {
    const bounded = (value: unknown): value is number => typeof value === 'number' && Math.abs(value) < Number.MAX_SAFE_INTEGER;
    const parts: string[] = [];
    if (bounded(node.minimum) && bounded(node.maximum)) parts.push(`${node.minimum}–${node.maximum}`);
    else {
      if (bounded(node.minimum)) parts.push(`≥ ${node.minimum}`);
      if (bounded(node.exclusiveMinimum)) parts.push(`> ${node.exclusiveMinimum}`);
      if (bounded(node.maximum)) parts.push(`≤ ${node.maximum}`);
      if (bounded(node.exclusiveMaximum)) parts.push(`< ${node.exclusiveMaximum}`);
    }
    return parts.length > 0 ? `${type} ${parts.join(', ')}` : type;
  }
  if (type === 'string') return typeof node.pattern === 'string' ? `string matching \`${node.pattern}\`` : 'string';
  if (typeof type === 'string') return type;
  return 'any';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Rows for `node` at `path`, then for what it contains (objects, maps of named entries, lists, variants). */
function collect(node: Json, path: string, rows: Row[], note = ''): void {
  const description = typeof node.description === 'string' ? node.description : '';
  rows.push({
    path,
    type: typeOf(node),
    defaultValue: node.default === undefined ? '' : inline(node.default),
    description: note + description,
  });
  const properties = asJson(node.properties);
  if (properties) {
    const required = new Set((node.required as string[] | undefined) ?? []);
    for (const [key, child] of Object.entries(properties)) {
      const childNode = asJson(child) ?? {};
      collect(childNode, `${path}.${key}`, rows, required.has(key) && childNode.default === undefined ? '**required.** ' : '');
    }
  }
  const named = asJson(node.additionalProperties);
  if (named && node.type === 'object') collect(named, `${path}.<name>`, rows);
  const items = asJson(node.items);
  if (items && (asJson(items.properties) || items.anyOf || items.oneOf)) collect(items, `${path}[]`, rows);
  const variants = (node.anyOf ?? node.oneOf) as unknown[] | undefined;
  if (Array.isArray(variants) && variants.length > 0 && variants.every((v) => asJson(asJson(v)?.properties))) {
    for (const variant of variants) {
      const v = asJson(variant) ?? {};
      const tag = asJson(asJson(v.properties)?.type);
      const label = variants.length > 1 ? `(${tag?.const !== undefined ? `type ${inline(tag.const)}` : 'variant'}) ` : '';
      const required = new Set((v.required as string[] | undefined) ?? []);
      for (const [key, child] of Object.entries(asJson(v.properties) ?? {})) {
        const childNode = asJson(child) ?? {};
        collect(childNode, `${path}.${key}`, rows, label + (required.has(key) && childNode.default === undefined ? '**required.** ' : ''));
      }
    }
  }
}

/** The whole reference as Markdown. */
export function renderPipelineReference(): string {
  const schema = z.toJSONSchema(pipelineFileSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  const lines = [
    '# Pipeline file reference',
    '',
    'Generated from the schemas by `npm run docs` (src/config/reference.ts); a test fails when it is out',
    'of date. `fortistream check FILE` validates a file against the same schemas and prints every',
    'problem with its key path. The README explains each section with examples; this page lists every',
    'key: `<name>` stands for a name you choose, `[]` for a list item.',
    '',
  ];
  for (const [section, child] of Object.entries(asJson(schema.properties) ?? {})) {
    const rows: Row[] = [];
    collect(asJson(child) ?? {}, section, rows);
    const head = rows[0];
    lines.push(`## \`${section}\``, '');
    if (head?.description) lines.push(head.description, '');
    lines.push('| key | type | default | meaning |', '|---|---|---|---|');
    for (const row of rows) lines.push(`| \`${row.path}\` | ${cell(row.type)} | ${cell(row.defaultValue)} | ${cell(row.description)} |`);
    lines.push('');
  }
  return `${lines.join('\n')}`;
}
