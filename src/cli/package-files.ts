/**
 * Where the package's own files are (web/ for `xive serve`, bench/ for `xive bench`). The
 * command runs from three places: the TypeScript sources (src/cli/), the compiled modules
 * (dist/cli/) and the single-file bundle (dist/cli.mjs); the package root is the nearest folder
 * above the running module that holds package.json, whichever of the three it is.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The package's root folder (the one with package.json). */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  root = dir;
  return root;
}

/** A path inside the package, e.g. `packageFile('web', 'index.html')`. */
export function packageFile(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}
