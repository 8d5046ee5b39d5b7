/**
 * xxhash64 of bytes, strings and files, as 16 lowercase hex digits (the
 * digests `xxhsum -H64` prints). The hasher is Pivot's own small WebAssembly
 * module (`xxhash64.wat`, compiled into `_xxhash64_wasm.ts`), which hashes
 * bytes where they lie in its memory: a file is read straight into that
 * memory and hashed there, with no copy. A big file is read by a worker
 * thread (_hash_reader.ts) into that memory, shared, while this thread
 * hashes: see {@link hashFile}, and docs/performance.md, "Hashing".
 *
 * @module
 */

import { CONTROL, MEMORY_BYTES, type ReaderJob, RING, SLOT, SLOTS } from "./_hash_ring.ts";
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
// Where the input lies in each hasher's memory: the ring's first slot.
const INPUT = RING;
const PAGES = MEMORY_BYTES / 65536;
// A long hash yields to the event loop after this many bytes (a few ms of
// work), so workers' messages, timers and progress output still flow.
const YIELD_BYTES = 8 << 20;

/** A hasher with its own memory; `input` is the memory's view at INPUT. */
interface Slot {
  readonly xxh: Xxhash64;
  readonly memory: WebAssembly.Memory;
  readonly input: Uint8Array;
  readonly control: Int32Array;
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
      memory,
      input: new Uint8Array(memory.buffer, INPUT, CHUNK),
      control: new Int32Array(memory.buffer, CONTROL.at, CONTROL.words),
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

/** A reader worker started for one file (see _hash_reader.ts). */
interface Reader {
  readonly worker: Worker;
  /** The worker died (an uncaught error): the main thread reads on alone. */
  failed: boolean;
}

function startReader(slot: Slot, path: string, ino: number | null): Reader | undefined {
  slot.control.fill(0);
  let worker: Worker;
  try {
    worker = new Worker(new URL("./_hash_reader.ts", import.meta.url), { type: "module" });
  } catch {
    return undefined; // no workers here: read alone
  }
  const reader: Reader = { worker, failed: false };
  worker.onerror = (event) => {
    event.preventDefault();
    reader.failed = true;
  };
  worker.postMessage({ memory: slot.memory, path, ino } satisfies ReaderJob);
  return reader;
}

/**
 * Stop a reader; true when its worker can write no more into the slot's
 * memory, so that the slot can be reused: it died, or it published its last
 * word (it could not open the file, or the end of the file or a read error)
 * and returned. A worker still starting, or waiting to be told to go, might
 * yet write (`ready`) or even read into a later job's ring, as `terminate`
 * does not stop it at once: its slot is dropped instead.
 */
function stopReader(slot: Slot, reader: Reader): boolean {
  const { control } = slot;
  const produced = Atomics.load(control, CONTROL.produced);
  const finished = reader.failed || Atomics.load(control, CONTROL.ready) < 0 ||
    (produced > 0 && control[CONTROL.lengths + (produced - 1) % SLOTS] <= 0);
  Atomics.store(control, CONTROL.go, -1);
  Atomics.notify(control, CONTROL.go);
  Atomics.notify(control, CONTROL.consumed);
  reader.worker.terminate();
  return finished;
}

/**
 * Hash the rest of the file, from byte `offset`, as the worker reads it.
 * Returns the offset reached: the end of the file when `done`; otherwise the
 * worker could not go on, and the caller reads on from there alone.
 */
async function hashFromReader(
  slot: Slot,
  reader: Reader,
  offset: number,
): Promise<{ done: boolean; offset: number }> {
  const { control } = slot;
  new BigInt64Array(slot.memory.buffer, CONTROL.at + CONTROL.offsetByte, 1)[0] = BigInt(offset);
  Atomics.store(control, CONTROL.go, 1);
  Atomics.notify(control, CONTROL.go);
  let unyielded = 0;
  for (let seq = 0;; seq++) {
    let waited = 0;
    while (Atomics.load(control, CONTROL.produced) <= seq) {
      if (reader.failed) return { done: false, offset };
      // The worker publishes each chunk at once; a long wait is a slow disk
      // (or a dead worker, whose error event needs the event loop).
      if (Atomics.wait(control, CONTROL.produced, seq, 20) === "timed-out" && ++waited % 5 === 0) {
        await macrotask();
      }
    }
    const n = control[CONTROL.lengths + seq % SLOTS];
    if (n <= 0) return { done: n === 0, offset };
    slot.xxh.update(RING + (seq % SLOTS) * SLOT, n);
    offset += n;
    Atomics.store(control, CONTROL.consumed, seq + 1);
    Atomics.notify(control, CONTROL.consumed);
    unyielded += n;
    if (unyielded >= YIELD_BYTES) {
      unyielded = 0;
      await macrotask();
    }
  }
}

/**
 * The xxhash64 of a file's content. Synchronous reads into the hasher's
 * memory, each chunk hashed where it was read, with a yield to the event
 * loop every {@link YIELD_BYTES}. A big file is read by a worker thread
 * into a ring of chunks while this thread hashes them, once the worker has
 * started (the first bytes are read here meanwhile). About as fast as
 * `xxhsum -H64` on a page-cached file, and faster on big ones with two idle
 * cores (docs/performance.md, "Hashing").
 */
export function hashFile(path: string): Promise<Hash> {
  return hashFileWith(path, {});
}

/** When {@link hashFileWith} reads a file with a worker thread. */
export interface HashFileOptions {
  /**
   * Start a reader worker once this many bytes are hashed (default 64 MiB:
   * starting a worker costs 10-30 ms of CPU, on the other core).
   */
  readonly parallelAfter?: number;
  /** …if at least this many are left to read then (default 128 MiB). */
  readonly parallelRest?: number;
  /**
   * Wait for the worker to have the file open (or to fail to) instead of
   * reading on meanwhile, so that even a small file goes through it: for
   * tests of that path.
   */
  readonly waitForReader?: boolean;
}

/**
 * {@link hashFile} with its thresholds for reading in parallel: the same
 * hash whatever they are. For tests and measurements.
 */
export async function hashFileWith(path: string, options: HashFileOptions): Promise<Hash> {
  const { parallelAfter = 64 << 20, parallelRest = 128 << 20 } = options;
  let slot = takeSlot();
  let reader: Reader | undefined;
  let parallel = true;
  try {
    using file = Deno.openSync(path, { read: true });
    let offset = 0;
    let unyielded = 0;
    while (true) {
      if (reader !== undefined && Atomics.load(slot.control, CONTROL.ready) !== 0) {
        if (Atomics.load(slot.control, CONTROL.ready) > 0) {
          const got = await hashFromReader(slot, reader, offset);
          if (got.done) break;
          offset = got.offset;
          file.seekSync(offset, Deno.SeekMode.Start);
        }
        if (!stopReader(slot, reader)) slot = takeSlotWithState(slot);
        reader = undefined;
      }
      const n = file.readSync(slot.input);
      if (n === null) break;
      slot.xxh.update(INPUT, n);
      offset += n;
      unyielded += n;
      if (unyielded >= YIELD_BYTES) {
        unyielded = 0;
        if (parallel && offset >= parallelAfter) {
          parallel = false;
          const info = file.statSync();
          if (info.size - offset >= parallelRest) reader = startReader(slot, path, info.ino);
          while (
            options.waitForReader && reader !== undefined && !reader.failed &&
            Atomics.load(slot.control, CONTROL.ready) === 0
          ) await macrotask();
        }
        await macrotask();
      }
    }
    return digestOf(slot);
  } finally {
    if (reader === undefined || stopReader(slot, reader)) idle.push(slot);
  }
}

/**
 * A fresh slot holding `old`'s hash state, for when a stopped worker might
 * still write into `old`'s memory (which is then dropped, not pooled).
 */
function takeSlotWithState(old: Slot): Slot {
  const slot = takeSlot();
  new Uint8Array(slot.memory.buffer, 0, 96).set(new Uint8Array(old.memory.buffer, 0, 96));
  return slot;
}
