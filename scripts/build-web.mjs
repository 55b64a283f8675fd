// Builds the static playground, dist/web/: the page (web/index.html, web/style.css, web/app.js
// with the modules it imports, bundled) and the Web Worker that runs the model (web/worker.js
// with src/web/worker.ts and everything it imports, bundled). Any static file server can serve
// the result; no server API is needed.
//
// The bundles are for browsers: a Node.js built-in anywhere in their import graph fails the
// build, naming the importer (the model below the tools imports none; src/cli may, and must stay
// out of the page).
//
//   node scripts/build-web.mjs [--outdir DIR]      (default dist/web)
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Fails the build on any import of a Node.js built-in module. */
export const noNodeBuiltins = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!BUILTINS.has(args.path) && !args.path.startsWith('node:')) return undefined;
      const from = relative(ROOT, args.importer) || args.importer;
      return { errors: [{ text: `Node.js built-in '${args.path}' imported by ${from}: the playground runs in a browser` }] };
    });
  },
};

/**
 * Builds into `outdir` (emptied first); returns the output files with their sizes. Throws with
 * esbuild's messages when a bundle cannot be built.
 */
export async function buildWeb({ outdir = join(ROOT, 'dist/web'), minify = true, logLevel = 'warning' } = {}) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const common = {
    bundle: true,
    platform: 'browser',
    target: ['es2022'],
    minify,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel,
    plugins: [noNodeBuiltins],
    metafile: true,
  };
  const page = await build({ ...common, entryPoints: [join(ROOT, 'web/app.js')], outfile: join(outdir, 'app.js'), format: 'esm' });
  const worker = await build({ ...common, entryPoints: [join(ROOT, 'web/worker.js')], outfile: join(outdir, 'worker.js'), format: 'iife' });
  copyFileSync(join(ROOT, 'web/style.css'), join(outdir, 'style.css'));
  // `xive serve` serves the page at the root; a static copy may live in any folder, and runs the
  // model in its worker (web/backend.js reads the mark).
  const html = readFileSync(join(ROOT, 'web/index.html'), 'utf8')
    .replace('href="/style.css"', 'href="style.css"')
    .replace('src="/app.js"', 'src="app.js"')
    .replace('<meta charset="utf-8">', '<meta charset="utf-8">\n  <meta name="xive-backend" content="worker">');
  if (!html.includes('name="xive-backend"') || !html.includes('src="app.js"')) throw new Error('web/index.html: the script, style sheet or charset tag the build rewrites is not where it was');
  writeFileSync(join(outdir, 'index.html'), html);
  const outputs = { ...page.metafile.outputs, ...worker.metafile.outputs };
  return Object.entries(outputs).map(([file, o]) => ({ file: relative(outdir, resolve(ROOT, file)), bytes: o.bytes }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  let outdir;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--outdir' && args[i + 1] !== undefined) outdir = resolve(args[++i]);
    else {
      console.error(`usage: node scripts/build-web.mjs [--outdir DIR]  (unknown argument '${args[i]}')`);
      process.exit(2);
    }
  }
  try {
    const files = await buildWeb({ outdir });
    for (const f of files) console.log(`${f.file.padEnd(16)} ${(f.bytes / 1024).toFixed(1).padStart(8)} KiB`);
    console.log(`built ${relative(process.cwd(), outdir ?? join(ROOT, 'dist/web')) || '.'}/ (serve it with any static file server)`);
  } catch (e) {
    // esbuild has printed its messages already.
    if (!(e && Array.isArray(e.errors))) console.error(e);
    process.exit(1);
  }
}
