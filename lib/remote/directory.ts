/**
 * A local or mounted directory as a {@link Backend}, with the layout of an
 * S3 remote (`files/ab/cdef…`, `runs/…`). Objects are copied to a temporary
 * name beside their place and renamed, so a killed push never leaves a
 * partial object under a valid name; listings skip temporary names, and
 * temporaries older than a day (left by a killed process) are removed when
 * seen.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { tempPath } from "../storage/cache.ts";
import type { DirectoryRemoteSpec } from "./config.ts";
import type { Backend, BackendStats, Downloaded, ListedObject } from "./backend.ts";
import { RemoteError } from "./backend.ts";

const STALE_TEMP_MS = 24 * 3600_000;

/**
 * Open the directory remote `spec` (nothing is touched until
 * {@link Backend.check} or a transfer).
 */
export function openDirectory(spec: DirectoryRemoteSpec): Backend {
  return new DirectoryBackend(spec);
}

class DirectoryBackend implements Backend {
  readonly kind = "directory";
  readonly identity: string;
  readonly label: string;
  // A listing reads a folder and stats each file in it: count it like a page
  // of S3 keys, so that a few unknown objects are looked up one by one.
  readonly pageSize = 1000;
  readonly stats: BackendStats = { requests: 0, lists: 0, retries: 0 };
  readonly multipart = undefined;
  readonly #root: string;
  readonly #made = new Set<string>();

  constructor(spec: DirectoryRemoteSpec) {
    this.#root = spec.path;
    this.identity = `dir:${spec.path}`;
    this.label = `remote '${spec.name}' (${spec.path})`;
  }

  check(): Promise<void> {
    this.stats.requests++;
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(this.#root);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw this.#error(error);
      return Promise.reject(
        new RemoteError(
          `${this.label}: the directory does not exist: create it (mkdir -p ${this.#root}) or check that it is mounted`,
        ),
      );
    }
    if (!info.isDirectory) {
      return Promise.reject(new RemoteError(`${this.label}: expected a directory, found a file`));
    }
    return Promise.resolve();
  }

  async *list(prefix: string): AsyncIterable<ListedObject[]> {
    // A prefix names a folder and the start of names in it ("files/ab/c").
    const slash = prefix.lastIndexOf("/");
    const folder = prefix.slice(0, slash + 1);
    const start = prefix.slice(slash + 1);
    const objects: ListedObject[] = [];
    this.stats.lists++;
    const walk = async (rel: string, filter: string) => {
      this.stats.requests++;
      let entries: Deno.DirEntry[];
      try {
        entries = [...Deno.readDirSync(join(this.#root, rel))];
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return;
        throw this.#error(error);
      }
      for (const entry of entries) {
        if (!entry.name.startsWith(filter)) continue;
        const key = rel + entry.name;
        if (entry.isDirectory) await walk(`${key}/`, "");
        else if (entry.isFile && !entry.name.endsWith(".tmp")) {
          objects.push({ key, size: Deno.statSync(join(this.#root, key)).size });
        } else if (entry.name.endsWith(".tmp")) this.#removeIfStale(join(this.#root, key));
      }
    };
    await walk(folder, start);
    yield objects;
  }

  head(key: string): Promise<number | undefined> {
    this.stats.requests++;
    try {
      return Promise.resolve(Deno.statSync(join(this.#root, key)).size);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return Promise.resolve(undefined);
      throw this.#error(error);
    }
  }

  async putBytes(key: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    await this.#place(key, (temp) => Deno.writeFile(temp, bytes));
  }

  async getBytes(key: string): Promise<Uint8Array | undefined> {
    this.stats.requests++;
    try {
      return await Deno.readFile(join(this.#root, key));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw this.#error(error);
    }
  }

  async putFile(key: string, path: string): Promise<void> {
    await this.#place(key, (temp) => Deno.copyFile(path, temp));
  }

  async download(
    key: string,
    dest: string,
    onBytes?: (n: number) => void,
  ): Promise<Downloaded | undefined> {
    this.stats.requests++;
    const source = join(this.#root, key);
    try {
      await Deno.copyFile(source, dest);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        try {
          Deno.statSync(source);
        } catch {
          return undefined;
        }
      }
      throw this.#error(error);
    }
    const size = Deno.statSync(dest).size;
    onBytes?.(size);
    return { size, bytes: undefined };
  }

  close(): void {}

  /** Write an object through a temporary sibling and a rename. */
  async #place(key: string, write: (temp: string) => Promise<void>): Promise<void> {
    this.stats.requests++;
    const target = join(this.#root, key);
    const folder = dirname(target);
    if (!this.#made.has(folder)) {
      Deno.mkdirSync(folder, { recursive: true });
      this.#made.add(folder);
    }
    const temp = tempPath(target);
    try {
      await write(temp);
      // Objects are immutable: read-only, as in the local cache.
      Deno.chmodSync(temp, 0o444);
      Deno.renameSync(temp, target);
    } catch (error) {
      try {
        Deno.removeSync(temp);
      } catch {
        // not created
      }
      throw this.#error(error);
    }
  }

  #removeIfStale(path: string): void {
    try {
      const mtime = Deno.statSync(path).mtime?.getTime() ?? Date.now();
      if (Date.now() - mtime > STALE_TEMP_MS) Deno.removeSync(path);
    } catch {
      // gone already
    }
  }

  #error(error: unknown): Error {
    if (error instanceof Deno.errors.PermissionDenied) {
      return new RemoteError(
        `${this.label}: permission denied (${error.message}): check the directory's permissions`,
      );
    }
    if (error instanceof Error && /No space left/i.test(error.message)) {
      return new RemoteError(`${this.label}: no space left on the device`);
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}
