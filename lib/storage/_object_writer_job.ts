/**
 * The messages between object_writer.ts and its thread
 * (_object_writer_worker.ts), in a module of their own so the thread loads
 * nothing else.
 *
 * @module
 */

/** Objects for the thread to make, in order. */
export interface WriteBatch {
  /** Matches the reply to the batch. */
  readonly id: number;
  /** Each object's temporary name (noted in the calling process's journal). */
  readonly temps: readonly string[];
  /** Each object's name, renamed to once its file is complete. */
  readonly objects: readonly string[];
  /** Each object's content. */
  readonly contents: readonly Uint8Array[];
  /**
   * Two shared words: the thread adds one to the first for each object it
   * is done with, made or not, and the object's size in KiB (rounded up, at
   * least one) to the second.
   */
  readonly done: SharedArrayBuffer;
}

/** The thread's answer to a {@link WriteBatch}. */
export interface WriteReply {
  readonly id: number;
  /** Mtime (ms), size, inode and device of each object made, four numbers an object. */
  readonly stamps: Float64Array;
  /** Indexes of the objects not made (nothing of theirs is left). */
  readonly failed: readonly number[];
}
