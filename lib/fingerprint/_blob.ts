/**
 * JSON values of any size in the state store. Deno KV caps a value at
 * 64 KiB, so a large value is split into chunks under its key; a header at
 * the key itself says how many and holds their hash, so a value torn by two
 * concurrent writers reads as missing rather than as garbage.
 *
 * Writes are deferred (`StateStore.defer`): they land on the store's next
 * `flush()` or `close()`, and reads in this process see them at once.
 *
 * @module
 */

import { hashBytes } from "../storage/hash.ts";
import type { StateStore } from "../storage/state.ts";

// Below the 64 KiB value limit, with room for the structured-clone framing.
const CHUNK = 60_000;

interface Header {
  /** Number of chunks; 0 when the value is inline in `b`. */
  readonly n: number;
  /** Hash of the whole encoded value, for chunked values. */
  readonly h?: string;
  /** The encoded value, when small. */
  readonly b?: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Queue `value` (JSON-serialisable) for writing at `key`. */
export async function writeBlob(state: StateStore, key: Deno.KvKey, value: unknown): Promise<void> {
  const bytes = encoder.encode(JSON.stringify(value));
  if (bytes.length <= CHUNK) {
    state.defer(key, { n: 0, b: bytes } satisfies Header);
    return;
  }
  const n = Math.ceil(bytes.length / CHUNK);
  for (let i = 0; i < n; i++) state.defer([...key, i], bytes.slice(i * CHUNK, (i + 1) * CHUNK));
  state.defer(key, { n, h: await hashBytes(bytes) } satisfies Header);
}

/** The value at `key`, or undefined when absent or torn. */
export async function readBlob<T>(state: StateStore, key: Deno.KvKey): Promise<T | undefined> {
  const header = await state.get<Header>(key);
  if (!header) return undefined;
  let bytes: Uint8Array;
  if (header.n === 0) {
    if (!header.b) return undefined;
    bytes = header.b;
  } else {
    const chunks = await Promise.all(
      Array.from({ length: header.n }, (_, i) => state.get<Uint8Array>([...key, i])),
    );
    if (chunks.some((chunk) => chunk === undefined)) return undefined;
    bytes = new Uint8Array(chunks.reduce((size, chunk) => size + chunk!.length, 0));
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk!, offset);
      offset += chunk!.length;
    }
    if (await hashBytes(bytes) !== header.h) return undefined;
  }
  return JSON.parse(decoder.decode(bytes)) as T;
}

/** Delete the value at `key` now (header first, so a reader never sees a partial value). */
export async function deleteBlob(state: StateStore, key: Deno.KvKey): Promise<void> {
  const header = await state.get<Header>(key);
  await state.delete(key);
  for (let i = 0; i < (header?.n ?? 0); i++) await state.delete([...key, i]);
}
