// Copies non-TypeScript assets (Lua scripts, static files) next to the compiled JavaScript,
// so dist/ runs on its own. tsc only emits .js/.d.ts.
import { cpSync, existsSync, chmodSync } from 'node:fs';

const assets = ['src/state/lua', 'src/sinks/lua', 'src/client/lua', 'src/runtime/lua', 'src/api/static'];
for (const dir of assets) {
  if (existsSync(dir)) cpSync(dir, `dist/${dir}`, { recursive: true });
}
if (existsSync('dist/src/cli.js')) chmodSync('dist/src/cli.js', 0o755);
