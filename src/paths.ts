/** Where cligate's own files live, whether it runs from `src/` (tests) or from `dist/` (built). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cligate: cannot find package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findRoot();
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'migrations');
export const CLI_ENTRY = path.join(PROJECT_ROOT, 'dist', 'src', 'cli.js');

/** A binary npm installed with cligate, e.g. `claude`. */
export function bundledBinary(name: string): string {
  return path.join(PROJECT_ROOT, 'node_modules', '.bin', name);
}
