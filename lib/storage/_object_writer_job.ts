/**
 * The messages between object_writer.ts and its thread
 * (_object_writer_worker.ts), in a module of their own so the thread loads
 * nothing else.
 *
 * @module
 */

/** What separates the paths of a {@link WriteBatch} (never in a path). */
export const PATH_SEPARATOR = "\0";

/** Objects for the thread to make, in order. */
export interface WriteBatch {
  /** Matches the reply to the batch. */
  readonly id: number;
  /** Each object's temporary name (noted in the calling process's journal), joined. */
  readonly temps: string;
  /** Each object's name, renamed to once its file is complete, joined. */
  readonly objects: string;
  /** Every object's content, one after the other (one buffer, transferred). */
  readonly contents: Uint8Array;
  /** Where each object's content ends in `contents`. */
  readonly ends: Uint32Array;
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
