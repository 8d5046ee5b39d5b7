/**
 * Content hashes of the project's source files, through the state store's
 * file-hash cache: a file whose stamp (mtime, size, inode) is unchanged is
 * not read again.
 *
 * @module
 */

import { isRacy, racyClock, stampOf, type StateStore } from "../storage/state.ts";
import { relativePath } from "./_paths.ts";

/** Hashes and texts of project files, memoised for one fingerprinting run. */
export class ProjectFiles {
  readonly #state: StateStore;
  readonly #root: string;
  readonly #hashes = new Map<string, Promise<string | null>>();
  readonly #texts = new Map<string, Promise<{ text: string; hash: string } | null>>();

  /** Files of the project at `root` (absolute), cached in `state`. */
  constructor(state: StateStore, root: string) {
    this.#state = state;
    this.#root = root;
  }

  /** Project-relative POSIX path of `path` (absolute). */
  relative(path: string): string {
    return relativePath(this.#root, path);
  }

  /** The content hash of `path`, or null when it does not exist. */
  hash(path: string): Promise<string | null> {
    let hash = this.#hashes.get(path);
    if (!hash) {
      hash = this.#hash(path);
      this.#hashes.set(path, hash);
    }
    return hash;
  }

  async #hash(path: string): Promise<string | null> {
    let info: Deno.FileInfo;
    try {
      // Sync: a stat is microseconds, and the warm path does little else.
      info = Deno.statSync(path);
    } catch (error) {
      // Unreadable counts as absent (ancestor directories may be off limits).
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
        return null;
      }
      throw error;
    }
    if (!info.isFile) return null;
    const cached = await this.#state.cachedFileHash(this.relative(path), stampOf(info));
    if (cached !== undefined) return cached;
    return (await this.read(path))?.hash ?? null;
  }

  /** The text of `path` and the hash of exactly that text, or null when it does not exist. */
  read(path: string): Promise<{ text: string; hash: string } | null> {
    let read = this.#texts.get(path);
    if (!read) {
      read = this.#read(path);
      this.#texts.set(path, read);
      this.#hashes.set(path, read.then((r) => r?.hash ?? null));
    }
    return read;
  }

  async #read(path: string): Promise<{ text: string; hash: string } | null> {
    try {
      const clock = racyClock();
      const stamp = stampOf(await Deno.stat(path));
      const bytes = await Deno.readFile(path);
      // Imported here: a warm run hashes nothing and should not load the hasher.
      const { hashBytes } = await import("../storage/hash.ts");
      const hash = await hashBytes(bytes);
      // A file modified moments ago may change again without its stamp changing.
      if (!isRacy(stamp, clock)) {
        await this.#state.rememberFileHash(this.relative(path), stamp, hash);
      }
      return { text: new TextDecoder().decode(bytes), hash };
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
  }

  /** Forget what is known of `path` (it may have been rewritten, as `deno info` does to the lock file). */
  forget(path: string): void {
    this.#hashes.delete(path);
    this.#texts.delete(path);
  }
}
