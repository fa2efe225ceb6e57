import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The folder holding fortistream's package.json, from src/ (tests) or dist/src/ (built) alike. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i += 1) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'pipelines'))) {
      cached = dir;
      return dir;
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find the fortistream package root (package.json next to pipelines/)');
}
