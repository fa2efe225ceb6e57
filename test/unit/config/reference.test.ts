import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderPipelineReference } from '../../../src/config/reference.js';

describe('docs/pipelines.md', () => {
  const reference = renderPipelineReference();

  it('is what the schemas say today (npm run docs rewrites it)', () => {
    expect(readFileSync(new URL('../../../docs/pipelines.md', import.meta.url), 'utf8')).toBe(`${reference}\n`);
  });

  it('lists every top-level section and the keys users set most, with defaults and bounds', () => {
    for (const section of ['redis', 'pipeline', 'spool', 'sessions', 'counters', 'audit', 'alerts', 'sources', 'sinks', 'profiles', 'api', 'feeds', 'devices', 'actions']) {
      expect(reference).toContain(`## \`${section}\``);
    }
    expect(reference).toMatch(/\| `sources\.<name>\.max_frame_bytes` \| integer 1–67108864 \| `65536` \|/);
    expect(reference).toMatch(/\| `redis\.writer_lease_seconds` \| integer 2–300 \| `15` \|/);
    expect(reference).toContain('| `profiles.<name>.alerts` | boolean |');
    expect(reference).toMatch(/\| `counters\[\]\.key` \|[^\n]*\*\*required\.\*\*/);
  });
});
