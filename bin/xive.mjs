#!/usr/bin/env node
// The `xive` command: runs dist/cli.mjs, the one-file bundle of the command (`npm run build`), which
// starts fast. The installed package has no src/ and always runs the bundle. In a checkout of the
// repository the bundle may be missing (never built) or older than a file of src/ (edited since):
// then the TypeScript sources run through tsx (a development dependency) instead, so that what
// runs is always the current code, at the cost of a slower start.
import { existsSync, readdirSync, statSync } from 'node:fs';

const bundle = new URL('../dist/cli.mjs', import.meta.url);
const src = new URL('../src/', import.meta.url);

/** Whether a file under dir was modified after time t (ms). */
function changedSince(dir, t) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = new URL(e.isDirectory() ? `${e.name}/` : e.name, dir);
    if (e.isDirectory() ? changedSince(p, t) : statSync(p).mtimeMs > t) return true;
  }
  return false;
}

let cli;
if (existsSync(bundle) && !(existsSync(src) && changedSince(src, statSync(bundle).mtimeMs))) {
  cli = await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
await cli.runCli();
