/**
 * Shared test helpers: temporary directories that clean themselves up, and a
 * state store opened in one.
 *
 * @module
 */

import { join } from "node:path";
import { StateStore } from "../lib/storage/state.ts";

/** A temporary directory, removed (recursively) when disposed. */
export interface TempDir extends AsyncDisposable {
  /** Its absolute path. */
  readonly path: string;
  /** An absolute path inside it. */
  join(...parts: string[]): string;
}

/** Make a temporary directory; use with `await using dir = await tempDir();`. */
export async function tempDir(): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix: "pivot_test_" });
  return {
    path,
    join: (...parts) => join(path, ...parts),
    async [Symbol.asyncDispose]() {
      // Cache objects are read-only; removal needs write permission on their
      // directories only, which they keep.
      await Deno.remove(path, { recursive: true });
    },
  };
}

/** A state store in `dir/state`, closed when disposed. */
export async function openState(dir: string): Promise<StateStore & AsyncDisposable> {
  const state = await StateStore.open(join(dir, "state"));
  return Object.assign(state, { [Symbol.asyncDispose]: () => state.close() });
}

/** Every entry name under `dir`, recursively, as sorted relative POSIX paths. */
export async function listTree(dir: string): Promise<string[]> {
  const names: string[] = [];
  async function walk(sub: string): Promise<void> {
    for await (const entry of Deno.readDir(sub === "" ? dir : join(dir, sub))) {
      const rel = sub === "" ? entry.name : `${sub}/${entry.name}`;
      names.push(rel);
      if (entry.isDirectory) await walk(rel);
    }
  }
  await walk("");
  return names.sort();
}
