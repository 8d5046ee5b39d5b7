/**
 * What stat_many.ts and its helper worker (_stat_many_worker.ts) share: the
 * job message and the layout of its shared control words.
 *
 * @module
 */

/** Items a thread takes at once. */
export const BLOCK = 512;

/** Indexes of the control words (an `Int32Array` over {@link ManyJob.control}). */
export const CONTROL = {
  /**
   * Blocks taken so far, by either thread: the calling thread takes blocks
   * from the first on, the helper from the last back, so that the two work
   * in different directories (creating names in one directory from two
   * threads contends for its lock) and meet once.
   */
  taken: 0,
  /** 1 while the helper is taking or doing blocks. */
  active: 1,
  /** Per block from here: how many of its items the helper has done. */
  blocks: 2,
} as const;

/** What the helper is asked to do. */
export interface ManyJob {
  /** Told back with each message about this job (a helper thread does one job after another). */
  readonly id: number;
  readonly op: "stat" | "link";
  /** `stat`: the paths; `link`: the sources. */
  readonly paths: readonly string[];
  /** `link`: the new names, one per source. */
  readonly dests?: readonly string[];
  /** The {@link CONTROL} words. */
  readonly control: SharedArrayBuffer;
  /** `stat`: four numbers per item (mtime in ms, size, inode, device). */
  readonly stamps?: SharedArrayBuffer;
  /** Post "started" once its first block is taken (the caller waits for it: tests). */
  readonly first?: boolean;
}

/** What the helper tells about job `id`: it took its first block ({@link ManyJob.first}), or is done. */
export interface ManyReply {
  readonly id: number;
  readonly event: "started" | "done";
}
