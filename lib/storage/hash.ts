/**
 * xxhash64 of bytes, strings and files, as 16 lowercase hex digits (the
 * digests `xxhsum -H64` prints). The hasher is Pivot's own small WebAssembly
 * module (`xxhash64.wat`, compiled into `_xxhash64_wasm.ts`), which hashes
 * bytes where they lie in its memory: a file is read straight into that
 * memory and hashed there, with no copy.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { XXHASH64_WASM } from "./_xxhash64_wasm.ts";

/** A 16-hex-digit xxhash64 digest. */
export type Hash = string;

/** The exports of xxhash64.wat. */
interface Xxhash64 {
  /** Start a new hash. */
  init(): void;
  /** Hash `length` bytes of memory at `offset` (>= 96), after those already given. */
  update(offset: number, length: number): void;
  /** The hash of everything given since `init`, as a signed 64-bit integer. */
  digest(): bigint;
}

// Reads of 256 KiB: synchronous reads of this size cost about as much system
// time as xxhsum's, and the chunk stays in the core's L2 cache between the
// kernel's copy and the hash. (Async reads cost a thread-pool round trip
// each: 3-10x slower at this size; docs/performance.md, "Hashing".)
const CHUNK = 256 << 10;
// Where the input lies in each hasher's memory (the state is below it).
const INPUT = 4096;
const PAGES = Math.ceil((INPUT + CHUNK) / 65536);
// A long hash yields to the event loop after this many bytes (a few ms of
// work), so workers' messages, timers and progress output still flow.
const YIELD_BYTES = 8 << 20;

/** A hasher with its own memory; `input` is the memory's view at INPUT. */
interface Slot {
  readonly xxh: Xxhash64;
  readonly input: Uint8Array;
}

// Hashers are pooled: a file hash spans awaits (its yields), so two
// concurrent hashes must not share one. Instantiating the module is
// synchronous and cheap; it is compiled on first use, so that a run that
// hashes nothing (a no-op) never compiles it.
const idle: Slot[] = [];
let compiled: WebAssembly.Module | undefined;

function takeSlot(): Slot {
  let slot = idle.pop();
  if (slot === undefined) {
    compiled ??= new WebAssembly.Module(
      Uint8Array.from(atob(XXHASH64_WASM), (c) => c.charCodeAt(0)),
    );
    const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES });
    const instance = new WebAssembly.Instance(compiled, { env: { memory } });
    slot = {
      xxh: instance.exports as unknown as Xxhash64,
      input: new Uint8Array(memory.buffer, INPUT, CHUNK),
    };
  }
  slot.xxh.init();
  return slot;
}

function digestOf(slot: Slot): Hash {
  return BigInt.asUintN(64, slot.xxh.digest()).toString(16).padStart(16, "0");
}

/** Hash `data` next: copied into the slot's memory a chunk at a time. */
function feed(slot: Slot, data: Uint8Array): void {
  for (let at = 0; at < data.length; at += CHUNK) {
    const piece = data.subarray(at, at + CHUNK);
    slot.input.set(piece);
    slot.xxh.update(INPUT, piece.length);
  }
}

const encoder = new TextEncoder();

/** The xxhash64 of a string (UTF-8) or bytes, computed synchronously. */
export function hashBytesSync(data: string | Uint8Array): Hash {
  const slot = takeSlot();
  try {
    // A string of at most CHUNK / 3 UTF-16 units fits the input as UTF-8:
    // encoded straight into it.
    if (typeof data === "string" && data.length <= CHUNK / 3) {
      const { written } = encoder.encodeInto(data, slot.input);
      slot.xxh.update(INPUT, written);
    } else {
      feed(slot, typeof data === "string" ? encoder.encode(data) : data);
    }
    return digestOf(slot);
  } finally {
    idle.push(slot);
  }
}

/** The xxhash64 of a string (UTF-8) or bytes. */
export function hashBytes(data: string | Uint8Array): Promise<Hash> {
  try {
    return Promise.resolve(hashBytesSync(data));
  } catch (error) {
    return Promise.reject(error);
  }
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
export function hashStream(): Promise<StreamHasher> {
  const slot = takeSlot();
  let done = false;
  const release = () => {
    if (done) return;
    done = true;
    idle.push(slot);
  };
  return Promise.resolve({
    update: (data) => {
      if (done) throw new Error("hashStream: used after digest or release");
      feed(slot, data);
    },
    digest: () => {
      if (done) throw new Error("hashStream: used after digest or release");
      const hash = digestOf(slot);
      release();
      return hash;
    },
    release,
  });
}

/**
 * Let the event loop turn once: timers, I/O and workers' messages (a
 * macrotask). `setImmediate` costs ~15 µs; `setTimeout(0)` waits for the
 * timer's millisecond tick: 1-6 ms on a loaded machine, which was 10-30% of
 * a page-cached 1 GiB hash with a yield every 32 MiB.
 */
function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The xxhash64 of a file's content. Synchronous reads into the hasher's
 * memory, each chunk hashed where it was read, with a yield to the event
 * loop every {@link YIELD_BYTES}: about as fast as `xxhsum -H64` on a
 * page-cached file (docs/performance.md, "Hashing").
 */
export async function hashFile(path: string): Promise<Hash> {
  const slot = takeSlot();
  try {
    using file = Deno.openSync(path, { read: true });
    let unyielded = 0;
    while (true) {
      const n = file.readSync(slot.input);
      if (n === null) break;
      slot.xxh.update(INPUT, n);
      unyielded += n;
      if (unyielded >= YIELD_BYTES) {
        unyielded = 0;
        await macrotask();
      }
    }
    return digestOf(slot);
  } finally {
    idle.push(slot);
  }
}
