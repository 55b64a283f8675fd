// Runs every test/**/*.test.ts through node:test with tsx (Node 20's --test has no glob support).
// A run that includes test/package/ (the whole suite does) builds dist/ first (scripts/build.mjs,
// quick when nothing changed), since those tests pack and install what the build made; the other
// tests run the TypeScript sources, and the `xive` command falls back to them when dist/ is older.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = collect('test', []);
if (filter.length > 0) files = files.filter((f) => filter.some((s) => f.includes(s)));
if (files.some((f) => f.startsWith(join('test', 'package')))) {
  const b = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
// Test files run in parallel processes, one per core (node's default leaves one core idle).
const concurrency = Math.max(2, availableParallelism());
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
