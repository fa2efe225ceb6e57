// Writes docs/pipelines.md from the pipeline schemas (npm run docs; needs a build).
import { writeFileSync } from 'node:fs';
import { renderPipelineReference } from '../dist/src/config/reference.js';

writeFileSync(new URL('../docs/pipelines.md', import.meta.url), `${renderPipelineReference()}\n`);
console.log('wrote docs/pipelines.md');
