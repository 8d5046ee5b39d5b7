/**
 * Cache objects for remote tests: files of given sizes with distinct
 * pseudo-random content, and directories (manifest plus files), stored in a
 * real {@link Cache}.
 *
 * @module
 */

import { join } from "node:path";
import { Cache, type ManifestEntry } from "../../lib/storage/cache.ts";
import { type Hash, hashFile } from "../../lib/storage/hash.ts";
import type { TransferTarget } from "../../lib/remote/transfer.ts";

let seed = 1;

/** `size` bytes of pseudo-random content, different at every call. */
export function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let x = (seed++ * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x;
    bytes[i + 1] = x >>> 8;
    bytes[i + 2] = x >>> 16;
    bytes[i + 3] = x >>> 24;
  }
  return bytes;
}

/** Store a file with `bytes` in `cache` (through a scratch file in `scratch`); returns its hash. */
export async function storeBytes(cache: Cache, scratch: string, bytes: Uint8Array): Promise<Hash> {
  await Deno.mkdir(scratch, { recursive: true });
  const path = join(scratch, `object-${seed++}`);
  await Deno.writeFile(path, bytes);
  const hash = await hashFile(path);
  await cache.storeFile(path, hash, false);
  await Deno.remove(path);
  return hash;
}

/** Store one file per size; returns them as transfer targets. */
export async function storeFiles(
  cache: Cache,
  scratch: string,
  sizes: readonly number[],
): Promise<TransferTarget[]> {
  const targets: TransferTarget[] = [];
  for (const size of sizes) {
    targets.push({ hash: await storeBytes(cache, scratch, randomBytes(size)), isDir: false });
  }
  return targets;
}

/** Store a directory of `count` files of `size` bytes; returns it and its files' hashes. */
export async function storeDirectory(
  cache: Cache,
  scratch: string,
  count: number,
  size: number,
): Promise<{ target: TransferTarget; files: Hash[] }> {
  const files: ManifestEntry[] = [];
  for (let i = 0; i < count; i++) {
    files.push({
      path: `part-${String(i).padStart(5, "0")}.bin`,
      hash: await storeBytes(cache, scratch, randomBytes(size)),
    });
  }
  const hash = await cache.storeManifest({ files });
  return { target: { hash, isDir: true }, files: files.map((f) => f.hash) };
}

/** A cache in `dir/name`. */
export function cacheIn(dir: string, name = "cache"): Cache {
  return new Cache(join(dir, name));
}
