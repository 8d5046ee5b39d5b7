/**
 * xxhash64 of bytes, strings and files, as 16 lowercase hex digits. The hasher
 * is hash-wasm's WebAssembly xxhash64, created once and reused.
 *
 * @module
 */

import type { IHasher } from "hash-wasm";

/** A 16-hex-digit xxhash64 digest. */
export type Hash = string;

// Hashers (and read buffers) are pooled: a file hash spans awaits, so two
// concurrent hashes must not share one.
interface Slot {
  hasher: IHasher;
  buffers: [Uint8Array, Uint8Array] | undefined;
}
const idle: Slot[] = [];

// hash-wasm bundles every algorithm (270 KB of JS, ~15 ms to import), so it
// is imported on first use: a no-op run that hashes nothing never loads it.
let create: (() => Promise<IHasher>) | undefined;

async function newHasher(): Promise<IHasher> {
  create ??= (await import("hash-wasm")).createXXHash64;
  return await create();
}

async function withHasher<T>(use: (slot: Slot) => Promise<T> | T): Promise<T> {
  const slot = idle.pop() ?? { hasher: await newHasher(), buffers: undefined };
  try {
    slot.hasher.init();
    return await use(slot);
  } finally {
    idle.push(slot);
  }
}

const encoder = new TextEncoder();

/** The xxhash64 of a string (UTF-8) or bytes. */
export function hashBytes(data: string | Uint8Array): Promise<Hash> {
  return withHasher(({ hasher }) => {
    hasher.update(typeof data === "string" ? encoder.encode(data) : data);
    return hasher.digest("hex");
  });
}

/** Hash of a JSON-serialisable value, with object keys sorted. */
export function hashJson(value: unknown): Promise<Hash> {
  return hashBytes(canonicalJson(value));
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
  });
}

/** An xxhash64 fed in pieces: {@link hashStream}'s. */
export interface StreamHasher {
  /** Hash these bytes next. */
  update(data: Uint8Array): void;
  /** The hash of everything given; the hasher is released (use it no more). */
  digest(): Hash;
  /** Release the hasher without a digest (the stream failed). */
  release(): void;
}

/**
 * A hasher for bytes that arrive in order (a download), so that their hash
 * is known once the last byte is written, without reading the file again.
 * Call `digest` or `release` exactly once.
 */
export async function hashStream(): Promise<StreamHasher> {
  const slot = idle.pop() ?? { hasher: await newHasher(), buffers: undefined };
  slot.hasher.init();
  let done = false;
  const release = () => {
    if (done) return;
    done = true;
    idle.push(slot);
  };
  return {
    update: (data) => {
      if (done) throw new Error("hashStream: used after digest or release");
      slot.hasher.update(data);
    },
    digest: () => {
      if (done) throw new Error("hashStream: used after digest or release");
      const hash = slot.hasher.digest("hex");
      release();
      return hash;
    },
    release,
  };
}

// 4 MiB chunks measured best on a page-cached 1 GiB file (1 and 16 MiB slower).
const CHUNK = 4 << 20;

/**
 * The xxhash64 of a file's content. Reads are double-buffered: the next chunk
 * is read (on Deno's blocking pool) while this one is hashed, which makes
 * this faster than `xxhsum -H64` on a page-cached file.
 */
export function hashFile(path: string): Promise<Hash> {
  return withHasher(async (slot) => {
    const buffers = slot.buffers ??= [new Uint8Array(CHUNK), new Uint8Array(CHUNK)];
    using file = await Deno.open(path, { read: true });
    let current = 0;
    let pending = file.read(buffers[current]);
    while (true) {
      const n = await pending;
      if (n === null) break;
      const chunk = buffers[current];
      current ^= 1;
      pending = file.read(buffers[current]);
      slot.hasher.update(n === CHUNK ? chunk : chunk.subarray(0, n));
    }
    return slot.hasher.digest("hex");
  });
}
