/**
 * The package's root folder (the nearest one above this file with a package.json), found
 * the same way from the TypeScript sources (tests) and from the compiled `dist/src/…`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

function findPackageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = resolve(dir, '..');
    if (up === dir) throw new Error('package.json not found above ' + __dirname);
    dir = up;
  }
  return dir;
}

export const PACKAGE_ROOT = findPackageRoot();

export const PACKAGE_VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
