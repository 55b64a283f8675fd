// Runs every test/**/*.test.ts through node:test with tsx (Node 20's --test has no glob support).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

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
const reporter = process.stdout.isTTY ? 'spec' : 'spec';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-reporter=${reporter}`, ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
