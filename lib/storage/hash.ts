/**
 * xxhash64 of bytes, strings and files, as 16 lowercase hex digits (the
 * digests `xxhsum -H64` prints). The hasher is Pivot's own small WebAssembly
 * module (`xxhash64.wat`, compiled into `_xxhash64_wasm.ts`), which hashes
 * bytes where they lie in its memory: a file is read straight into that
 * memory and hashed there, with no copy. A big file is read ahead by Deno's
 * I/O threads into one half of that memory while this thread hashes the
 * other: see {@link hashFile}, and docs/performance.md, "Hashing".
 *
 * @module
 */

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
// kernel's copy and the hash. (An async read costs a round trip to Deno's
// I/O threads: 3-10x slower at this size; docs/performance.md, "Hashing".)
const CHUNK = 256 << 10;
// A big file is read ahead in halves of this size (the round trip is then
// ~1% of a read), alternately into two buffers.
const AHEAD = 2 << 20;
// Where the input lies in each hasher's memory, after xxhash64.wat's state
// (its first 96 bytes): the first read-ahead buffer, then the second.
const INPUT = 65536;
const PAGES = (INPUT + 2 * AHEAD) / 65536;
// A long hash yields to the event loop after this many bytes (a few ms of
// work), so workers' messages, timers and progress output still flow.
const YIELD_BYTES = 8 << 20;

/** A hasher with its own memory; `input` is the memory's view at INPUT. */
interface Slot {
  readonly xxh: Xxhash64;
  readonly input: Uint8Array;
  /** The two read-ahead buffers: at INPUT (over `input`) and after it. */
  readonly ahead: readonly [Uint8Array, Uint8Array];
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
    const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
    const instance = new WebAssembly.Instance(compiled, { env: { memory } });
    slot = {
      xxh: instance.exports as unknown as Xxhash64,
      input: new Uint8Array(memory.buffer, INPUT, CHUNK),
      ahead: [
        new Uint8Array(memory.buffer, INPUT, AHEAD),
        new Uint8Array(memory.buffer, INPUT + AHEAD, AHEAD),
      ],
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

/**
 * JSON with object keys sorted at every level, so equal values give equal
 * text, and different values different text: the numbers JSON cannot write
 * (`NaN`, `Infinity`, `-Infinity`, which `JSON.stringify` writes as `null`,
 * and which a `params.yaml` holds as `.nan`, `.inf`, `-.inf`) are written as
 * `{"\u0000number":"Infinity"}`, so that changing one to another changes a
 * stage's params.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === "number") return Number.isFinite(v) ? v : { [NON_FINITE]: String(v) };
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
  });
}

/** The key {@link canonicalJson} writes a number JSON cannot write under. */
const NON_FINITE = "\u0000number";

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
 * macrotask). `setImmediate` costs ~15 µs (its first call ~1 ms, or ~20 ms
 * in a process that has not loaded Deno's Node compatibility yet: Pivot
 * has, through node:path); `setTimeout(0)` waits for the timer's
 * millisecond tick, 1-6 ms on a loaded machine: 10-30% of a page-cached
 * 1 GiB hash with a yield every 32 MiB.
 */
function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The xxhash64 of a file's content, read straight into the hasher's memory
 * and hashed where it was read. A file under {@link HashFileOptions.aheadFrom}
 * bytes is read synchronously, 256 KiB at a time, with a yield to the event
 * loop every {@link YIELD_BYTES}. A bigger one is read ahead: while this
 * thread hashes 2 MiB, Deno's I/O thread reads the next 2 MiB into the other
 * half of the memory (one `read` in flight at a time, so the file is read in
 * order), so that the kernel's copy and the hash run on two cores: faster
 * than `xxhsum -H64` on a page-cached file with an idle second core
 * (docs/performance.md, "Hashing").
 */
export function hashFile(path: string): Promise<Hash> {
  return hashFileWith(path, {});
}

/** How {@link hashFileWith} reads a file. */
export interface HashFileOptions {
  /**
   * Read ahead asynchronously from this size on (default 16 MiB: an async
   * read costs a round trip to the I/O thread, which pays only on big files).
   */
  readonly aheadFrom?: number;
}

/**
 * {@link hashFile} with its threshold for reading ahead: the same hash
 * whatever it is. For tests and measurements.
 */
export async function hashFileWith(path: string, options: HashFileOptions): Promise<Hash> {
  const { aheadFrom = 16 << 20 } = options;
  const slot = takeSlot();
  try {
    using file = Deno.openSync(path, { read: true });
    if (file.statSync().size >= aheadFrom) return await hashAhead(slot, file);
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

/**
 * Hash the rest of `file` with a read always in flight into the half of the
 * slot's memory not being hashed. Every read started is awaited before this
 * returns or throws, so no read writes into the slot once it is released.
 * The awaits let the event loop turn: no other yield is needed.
 */
async function hashAhead(slot: Slot, file: Deno.FsFile): Promise<Hash> {
  const { xxh, ahead } = slot;
  let half = 0;
  let reading = file.read(ahead[0]);
  while (true) {
    const n = await reading;
    if (n === null) break;
    const full = half;
    half ^= 1;
    // Read on before hashing what was read; a short read (the end, or a
    // read cut short) is followed by another, which says which.
    reading = file.read(ahead[half]);
    try {
      xxh.update(INPUT + full * AHEAD, n);
    } catch (error) {
      await reading.catch(() => {});
      throw error;
    }
  }
  return digestOf(slot);
}
