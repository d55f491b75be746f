/**
 * Preloaded (`node --require`) into a CLI child by test/e2e/reliability/storage-faults.test.ts to
 * simulate storage faults that a root test process cannot produce with chmod:
 *
 *   RECSYS_TEST_FS_FAULT='{"mode":"readonly","prefix":"/abs/folder"}'
 *     every write under the folder fails with EROFS (open for writing, mkdir of a new folder,
 *     rename, link, unlink), as on a read-only mount;
 *   RECSYS_TEST_FS_FAULT='{"mode":"full","prefix":"/abs/folder"}'
 *     files under the folder can be created but writing data into them fails with ENOSPC,
 *     as on a full disk.
 *
 * Patches `fs.promises` (which the storage layer calls through at call time). Test-only.
 */
'use strict';
const fs = require('node:fs');

const spec = process.env.RECSYS_TEST_FS_FAULT ? JSON.parse(process.env.RECSYS_TEST_FS_FAULT) : null;
if (spec) {
  const p = fs.promises;
  const under = (file) => typeof file === 'string' && (file === spec.prefix || file.startsWith(spec.prefix + '/'));
  const fail = (code, syscall, file) => {
    const text = code === 'EROFS' ? 'read-only file system' : 'no space left on device';
    return Object.assign(new Error(`${code}: ${text}, ${syscall} '${file}'`), { code, syscall, path: file, errno: code === 'EROFS' ? -30 : -28 });
  };
  const writing = (flags) => typeof flags === 'string' && /[wa+]/.test(flags);
  const orig = { open: p.open, mkdir: p.mkdir, rename: p.rename, link: p.link, unlink: p.unlink, writeFile: p.writeFile, rm: p.rm };

  if (spec.mode === 'readonly') {
    p.open = async (file, flags, ...rest) => {
      if (under(String(file)) && writing(flags)) throw fail('EROFS', 'open', String(file));
      return orig.open(file, flags, ...rest);
    };
    p.mkdir = async (dir, opts) => {
      if (under(String(dir)) && !fs.existsSync(dir)) throw fail('EROFS', 'mkdir', String(dir));
      return orig.mkdir(dir, opts);
    };
    for (const name of ['rename', 'link']) {
      p[name] = async (from, to) => {
        if (under(String(to)) || under(String(from))) throw fail('EROFS', name, String(to));
        return orig[name](from, to);
      };
    }
    for (const name of ['unlink', 'rm', 'writeFile']) {
      p[name] = async (file, ...rest) => {
        if (under(String(file))) throw fail('EROFS', name, String(file));
        return orig[name](file, ...rest);
      };
    }
  } else if (spec.mode === 'full') {
    p.open = async (file, flags, ...rest) => {
      const handle = await orig.open(file, flags, ...rest);
      if (under(String(file)) && writing(flags)) {
        handle.writeFile = async () => {
          throw fail('ENOSPC', 'write', String(file));
        };
        handle.write = async () => {
          throw fail('ENOSPC', 'write', String(file));
        };
      }
      return handle;
    };
    p.writeFile = async (file, ...rest) => {
      if (under(String(file))) throw fail('ENOSPC', 'write', String(file));
      return orig.writeFile(file, ...rest);
    };
  }
}
