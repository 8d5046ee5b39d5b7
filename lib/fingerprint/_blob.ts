/**
 * JSON values of any size in the state store. Deno KV caps a value at
 * 64 KiB and a commit at 800 KB, so a large value is split into chunks under its key; a header at
 * the key itself says how many and holds their hash, so a value torn by two
 * concurrent writers reads as missing rather than as garbage.
 *
 * Writes are deferred (`StateStore.defer`): they land on the store's next
 * `flush()` or `close()`, and reads in this process see them at once.
 *
 * @module
 */

import type { StateStore } from "../storage/state.ts";

// Under Deno KV's 64 KiB value cap; each chunk's size is given to
// `StateStore.defer`, whose flush keeps a commit under KV's 800 KB. (Chunks
// were 3 KB when a flush counted writes only: a 4.6 MB module summary was
// 1,555 chunks, read back in 156 `getMany` calls.)
const CHUNK = 60_000;

interface Header {
  /** Number of chunks; 0 when the value is inline in `b`. */
  readonly n: number;
  /**
   * Checksum of the whole encoded value (inline values written before it
   * was kept for them too have none): a value damaged on disk, or torn by
   * concurrent writers, reads as missing rather than as garbage.
   */
  readonly h?: number;
  /** The encoded value, when small. */
  readonly b?: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Values written by this process, per store. A small one is kept as written:
 * a read needs no parse. A large one is not (the summary of a 2.3 MB pipeline
 * module is ~17 MiB of objects, which stayed alive for the rest of a run for
 * nothing): {@link QUEUED} says to read its chunks back one by one through
 * the store, which sees its queued writes, rather than with raw `getMany` (10
 * keys a call, much faster than one `get` each), which does not.
 */
const written = new WeakMap<StateStore, Map<string, unknown>>();

/** Marks a large value written by this process, in {@link written}. */
const QUEUED = Symbol("queued");

function memo(state: StateStore): Map<string, unknown> {
  let map = written.get(state);
  if (!map) written.set(state, map = new Map());
  return map;
}

/** Queue `value` (JSON-serialisable; not to be mutated afterwards) for writing at `key`. */
export function writeBlob(state: StateStore, key: Deno.KvKey, value: unknown): void {
  const id = JSON.stringify(key);
  const bytes = encoder.encode(JSON.stringify(value));
  if (bytes.length <= CHUNK) {
    memo(state).set(id, value);
    state.defer(key, { n: 0, b: bytes, h: checksum(bytes) } satisfies Header, bytes.length);
    return;
  }
  memo(state).set(id, QUEUED);
  const n = Math.ceil(bytes.length / CHUNK);
  for (let i = 0; i < n; i++) {
    const chunk = bytes.slice(i * CHUNK, (i + 1) * CHUNK);
    state.defer([...key, i], chunk, chunk.length);
  }
  state.defer(key, { n, h: checksum(bytes) } satisfies Header);
}

/** The value at `key`, or undefined when absent, torn or damaged. */
export async function readBlob<T>(state: StateStore, key: Deno.KvKey): Promise<T | undefined> {
  const id = JSON.stringify(key);
  const mine = memo(state);
  const queued = mine.get(id) === QUEUED;
  if (mine.has(id) && !queued) return mine.get(id) as T | undefined;
  const header = await state.get<Header>(key);
  if (!header) return undefined;
  let bytes: Uint8Array;
  if (header.n === 0) {
    if (!header.b) return undefined;
    bytes = header.b;
    if (header.h !== undefined && checksum(bytes) !== header.h) return undefined;
  } else {
    const keys = Array.from({ length: header.n }, (_, i) => [...key, i]);
    let chunks: (Uint8Array | null | undefined)[];
    if (queued) {
      chunks = await Promise.all(keys.map((chunk) => state.get<Uint8Array>(chunk)));
    } else {
      const batches: Promise<Deno.KvEntryMaybe<Uint8Array>[]>[] = [];
      for (let i = 0; i < keys.length; i += 10) {
        batches.push(state.kv.getMany<Uint8Array[]>(keys.slice(i, i + 10)));
      }
      chunks = (await Promise.all(batches)).flat().map((entry) => entry.value);
    }
    if (chunks.some((chunk) => chunk === null || chunk === undefined)) return undefined;
    bytes = new Uint8Array(chunks.reduce((size, chunk) => size + chunk!.length, 0));
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk!, offset);
      offset += chunk!.length;
    }
    if (checksum(bytes) !== header.h) return undefined;
  }
  try {
    return JSON.parse(decoder.decode(bytes)) as T;
  } catch {
    // Bytes damaged on disk in a value written without a checksum: a cache, so absent.
    return undefined;
  }
}

/** Delete the value at `key` now (header first, so a reader never sees a partial value). */
export async function deleteBlob(state: StateStore, key: Deno.KvKey): Promise<void> {
  memo(state).delete(JSON.stringify(key));
  const header = await state.get<Header>(key);
  await state.delete(key);
  for (let i = 0; i < (header?.n ?? 0); i++) await state.delete([...key, i]);
}

/**
 * FNV-1a (32 bits): detects a value torn by concurrent writers or damaged on
 * disk (a page of the store's file). Not xxhash, so
 * that a warm run never loads the WebAssembly hasher.
 */
function checksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/**
 * A KV key part naming `value`: its JSON when short, else a hash of it (KV
 * keys are limited to 2 KiB). Short values need no hasher at all.
 */
export async function keyPart(value: unknown): Promise<string> {
  const json = JSON.stringify(value);
  if (json.length <= 1000) return json;
  const { hashBytes } = await import("../storage/hash.ts");
  return await hashBytes(json);
}
