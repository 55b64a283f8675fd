// Builds the package into dist/ (`npm run build`; `npm test` runs it first, so that the tests run
// what is shipped):
//   - tsc (tsconfig.build.json): one .js + .d.ts + source map per module of src/, the library the
//     package exports, with its .ts imports rewritten to .js;
//   - esbuild: the `xive` command as dist/cli.mjs (platform node, ESM) and one chunk per command
//     in dist/cli-chunks/ (code splitting at the commands' dynamic imports), so that it starts
//     without loading a hundred modules, compiles only what the command run needs, and carries
//     the command-line-only libraries inside it instead of needing them installed;
//   - node scripts/build-web.mjs, when that script exists (the browser bundle in dist/web/).
// A step whose output is newer than all its inputs is skipped (`--force` runs it anyway), so a
// build with nothing changed takes a few milliseconds. Outputs of modules removed from src/ are
// deleted, so the package never ships them.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
const BUILD_INFO = join(DIST, '.tsbuildinfo');
const BUNDLE = join(DIST, 'cli.mjs');
const CHUNKS = join(DIST, 'cli-chunks');
const force = process.argv.includes('--force');
const require = createRequire(import.meta.url);

/** Newest modification time (ms) of the files, folders walked, that exist. */
function newest(paths) {
  let t = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const s = statSync(p);
    if (s.isDirectory()) t = Math.max(t, newest(readdirSync(p).map((n) => join(p, n))));
    else t = Math.max(t, s.mtimeMs);
  }
  return t;
}

function upToDate(output, inputs) {
  return !force && existsSync(output) && statSync(output).mtimeMs >= newest(inputs.map((p) => join(ROOT, p)));
}

async function step(name, fn) {
  const t0 = performance.now();
  await fn();
  process.stderr.write(`build: ${name} ${Math.round(performance.now() - t0)} ms\n`);
}

function node(args) {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** Deletes what tsc emitted for modules no longer in src/ (dist/cli.mjs is esbuild's). */
function prune(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const rel = relative(DIST, p);
    if (rel.startsWith('cli.mjs') || rel === 'cli-chunks' || rel === '.tsbuildinfo') continue;
    if (e.isDirectory()) {
      if (existsSync(join(ROOT, 'src', rel))) prune(p);
      else rmSync(p, { recursive: true, force: true });
      continue;
    }
    const m = /^(.*)\.(js|d\.ts|js\.map)$/.exec(rel);
    if (m === null || !existsSync(join(ROOT, 'src', `${m[1]}.ts`))) rmSync(p, { force: true });
  }
}

if (!upToDate(BUILD_INFO, ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'])) {
  await step('tsc', () => node([require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json']));
  // tsc leaves its build info untouched when nothing changed; its time marks this build.
  const now = new Date();
  utimesSync(BUILD_INFO, now, now);
}
await step('prune', () => prune(DIST));
if (!upToDate(BUNDLE, ['src', 'package-lock.json', 'scripts/build.mjs'])) {
  const { build } = await import('esbuild');
  // Chunk names carry a content hash: those of an earlier build would pile up.
  rmSync(CHUNKS, { recursive: true, force: true });
  await step('esbuild dist/cli.mjs', () =>
    build({
      absWorkingDir: ROOT,
      entryPoints: { cli: 'src/cli/main.ts' },
      outdir: DIST,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'cli-chunks/[name]-[hash]',
      splitting: true,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: true,
      logLevel: 'warning',
      // Bundled CommonJS libraries (cli-progress) call require(); an ES module has none of its own.
      banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
    }),
  );
}
if (existsSync(join(ROOT, 'scripts/build-web.mjs'))) await step('scripts/build-web.mjs', () => node(['scripts/build-web.mjs']));
