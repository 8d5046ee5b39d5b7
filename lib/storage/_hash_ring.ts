/**
 * The layout of a hasher's shared memory, known to both hash.ts and its
 * reader worker (_hash_reader.ts).
 *
 * | Bytes                 | What                                                |
 * | --------------------- | --------------------------------------------------- |
 * | 0 – 96                | xxhash64.wat's state                                |
 * | CONTROL.at – +96      | the control words (Int32), then the start offset    |
 * | RING – RING + 4 MiB   | sixteen 256 KiB slots the worker reads into         |
 *
 * A hash without the worker reads into the first 256 KiB of the ring.
 *
 * @module
 */

/** Where the ring of read chunks starts. */
export const RING = 65536;
/** Bytes per slot of the ring: one read. */
export const SLOT = 256 << 10;
/** Slots in the ring (at most 32: the control words hold 32 lengths). */
export const SLOTS = 16;
/** Bytes of each hasher's memory. */
export const MEMORY_BYTES: number = RING + SLOTS * SLOT;

/** Indexes of the control words (an Int32Array at byte `at`). */
export const CONTROL = {
  at: 256,
  words: 4 + 32,
  /** Set by the worker: 1 when it has the file open, -1 when it cannot read it. */
  ready: 0,
  /** Set by the main thread: 1 to start reading at the offset, -1 to stop. */
  go: 1,
  /** How many chunks the worker has read (and published their lengths). */
  produced: 2,
  /** How many chunks the main thread has hashed (their slots are free). */
  consumed: 3,
  /** Length of the chunk in each slot: 0 at the end of the file, -1 on a read error. */
  lengths: 4,
  /** Byte (from `at`) of the BigInt64 offset the worker starts reading at. */
  offsetByte: 4 * (4 + 32),
} as const;

/** What the main thread posts to the worker: read `path` (inode `ino`). */
export interface ReaderJob {
  readonly memory: WebAssembly.Memory;
  readonly path: string;
  readonly ino: number | null;
}
