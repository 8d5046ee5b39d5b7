/**
 * A thread that makes cache objects from memory beside the calling one, for
 * the store of a large directory out in copy mode (lib/engine/workspace_outs.ts
 * `storeDirectory`, through {@link Cache.storeBytes}).
 *
 * Making a small object is kernel work, ~60-90 µs a file on this project's
 * ext4 disks (create, write, stat, rename), and a file made by Deno's
 * blocking pool costs the calling thread about as much again in dispatch
 * (an asynchronous write, then the stat and rename). This thread takes
 * objects in batches, one message for up to {@link BATCH}, and counts what
 * it has done in a shared word, so the calling thread knows at once, without
 * waiting for its event loop, how far behind the thread is: it gives the
 * thread an object while fewer than {@link BACKLOG_OBJECTS} wait, and makes
 * the object itself otherwise, so both cores create and neither waits for
 * the other (docs/performance.md, "Directory outs in copy mode: an object
 * writer thread, fourteenth session").
 *
 * An object the thread could not make (an error, or the thread died) is
 * answered `undefined`: the calling thread makes it itself, and so meets
 * and throws the error itself.
 *
 * @module
 */

import { type FileStamp, stampOfDevice } from "./state.ts";
import { PATH_SEPARATOR, type WriteBatch, type WriteReply } from "./_object_writer_job.ts";
import { threshold } from "../test_thresholds.ts";

/** Directories of fewer files are stored by the calling thread alone (the thread's start costs 10-30 ms). */
export const WRITER_FROM = threshold(2_048, 64);

/**
 * Objects posted in one message: a message costs the calling thread ~20 µs
 * to post and again to answer, so objects are posted in batches of this
 * many, or a quarter of it while the thread is idle (and whatever is left
 * by {@link ObjectWriter.flush} or when the thread answers).
 */
const BATCH = threshold(64, 8);

/** Objects given to the thread and not yet made, at most. */
const BACKLOG_OBJECTS = threshold(256, 32);

/** Bytes given to the thread and not yet written, at most, in KiB. */
const BACKLOG_KIB = 16 * 1024;

/**
 * Objects whose answers this thread has not yet taken, past which
 * {@link ObjectWriter.catchUp} waits. The thread's answers are taken only
 * when this thread's event loop turns, and the store reads and hashes files
 * between its turns: without the wait, ~22,000 objects of a 100,000-file
 * store were unanswered at once, each holding its bytes, its paths and its
 * promises (~4 KB), and the forced collections that kept that heap under
 * the peak's bound cost ~40 % of the run (docs/performance.md, "The
 * object writer's answers, twentieth session").
 */
export const UNANSWERED_MAX = 4 * BACKLOG_OBJECTS;

interface Pending {
  readonly temp: string;
  readonly object: string;
  bytes: Uint8Array;
  readonly resolve: (stamp: FileStamp | undefined) => void;
}

/**
 * The object writer thread (see the module's documentation). `close` ends
 * it; objects it has not made by then are answered `undefined`.
 *
 * @example
 * ```ts ignore
 * using writer = ObjectWriter.start();
 * const stamp = writer?.ready ? await writer.write(temp, object, bytes) : undefined;
 * ```
 */
export class ObjectWriter {
  readonly #worker: Worker;
  /** Shared words: objects the thread is done with, and their KiB. */
  readonly #done = new Int32Array(new SharedArrayBuffer(8));
  #posted = 0;
  #postedKiB = 0;
  #queue: Pending[] = [];
  #queuedKiB = 0;
  readonly #batches = new Map<number, readonly Pending[]>();
  #ids = 0;
  #dead = false;
  #flushing = false;
  #answered = 0;
  #caughtUp: PromiseWithResolvers<void> | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.onmessage = ({ data }: MessageEvent<WriteReply>) => this.#answer(data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.close();
    };
  }

  /** A new writer thread, or undefined where workers cannot start. */
  static start(): ObjectWriter | undefined {
    try {
      const url = new URL("./_object_writer_worker.ts", import.meta.url);
      return new ObjectWriter(new Worker(url, { type: "module" }));
    } catch {
      return undefined; // no workers here: the calling thread makes every object
    }
  }

  /** True when the thread can take one more object now without falling further behind than allowed. */
  get ready(): boolean {
    if (this.#dead) return false;
    const waiting = this.#posted + this.#queue.length - Atomics.load(this.#done, 0);
    const waitingKiB = this.#postedKiB + this.#queuedKiB - Atomics.load(this.#done, 1);
    return waiting < BACKLOG_OBJECTS && waitingKiB < BACKLOG_KIB;
  }

  /**
   * Make the object `object` with content `bytes` through the temporary
   * name `temp` (already noted in the journal, its directory made). Resolves
   * to the object's stamp, or undefined when the thread did not make it (the
   * caller makes it then, with a temporary name of its own).
   */
  write(temp: string, object: string, bytes: Uint8Array): Promise<FileStamp | undefined> {
    if (this.#dead) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#queue.push({ temp, object, bytes, resolve });
      this.#queuedKiB += kib(bytes);
      const idle = Atomics.load(this.#done, 0) === this.#posted;
      if (this.#queue.length >= (idle ? BATCH / 4 : BATCH)) this.#post();
      else if (!this.#flushing) {
        // What is left is posted at the event loop's next turn: the
        // caller has then stopped giving objects for now.
        this.#flushing = true;
        setTimeout(() => {
          this.#flushing = false;
          this.#post();
        }, 0);
      }
    });
  }

  /**
   * Resolves at once while fewer than {@link UNANSWERED_MAX} objects given
   * to the thread are unanswered here; else once half as many are (or the
   * thread is closed). For a caller that gives objects without waiting for
   * each: awaiting this lets the event loop take the thread's answers.
   */
  catchUp(): Promise<void> {
    if (this.#unanswered() < UNANSWERED_MAX) return Promise.resolve();
    this.#post();
    this.#caughtUp ??= Promise.withResolvers();
    return this.#caughtUp.promise;
  }

  #unanswered(): number {
    return this.#dead ? 0 : this.#posted + this.#queue.length - this.#answered;
  }

  /** Post what is queued (call when no more objects are coming for a while). */
  flush(): void {
    this.#post();
  }

  #post(): void {
    if (this.#queue.length === 0 || this.#dead) return;
    const items = this.#queue;
    this.#queue = [];
    const id = ++this.#ids;
    this.#batches.set(id, items);
    this.#posted += items.length;
    this.#postedKiB += this.#queuedKiB;
    this.#queuedKiB = 0;
    // One buffer and two strings, not an object per file: the message is
    // copied, and each value copied costs.
    const ends = new Uint32Array(items.length);
    let size = 0;
    for (let i = 0; i < items.length; i++) ends[i] = size += items[i].bytes.length;
    const contents = new Uint8Array(size);
    for (let i = 0; i < items.length; i++) {
      contents.set(items[i].bytes, i === 0 ? 0 : ends[i - 1]);
      items[i].bytes = EMPTY; // copied: not kept until the answer
    }
    this.#worker.postMessage(
      {
        id,
        temps: items.map((item) => item.temp).join(PATH_SEPARATOR),
        objects: items.map((item) => item.object).join(PATH_SEPARATOR),
        contents,
        ends,
        done: this.#done.buffer as SharedArrayBuffer,
      } satisfies WriteBatch,
      [contents.buffer],
    );
  }

  #answer({ id, stamps, failed }: WriteReply): void {
    const items = this.#batches.get(id);
    if (items === undefined) return;
    this.#batches.delete(id);
    this.#answered += items.length;
    const notMade = new Set(failed);
    for (let i = 0; i < items.length; i++) {
      if (notMade.has(i)) items[i].resolve(undefined);
      else {
        const at = 4 * i;
        items[i].resolve(stampOfDevice(stamps[at], stamps[at + 1], stamps[at + 2], stamps[at + 3]));
      }
    }
    this.#post();
    if (this.#caughtUp !== undefined && this.#unanswered() <= UNANSWERED_MAX / 2) {
      this.#caughtUp.resolve();
      this.#caughtUp = undefined;
    }
  }

  /** End the thread: what it has not answered is answered `undefined`. */
  close(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#worker.terminate();
    for (const items of this.#batches.values()) for (const item of items) item.resolve(undefined);
    for (const item of this.#queue) item.resolve(undefined);
    this.#batches.clear();
    this.#queue = [];
    this.#caughtUp?.resolve();
    this.#caughtUp = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

const EMPTY = new Uint8Array(0);

/** The size of `bytes` in KiB, rounded up (an empty file counts one). */
function kib(bytes: Uint8Array): number {
  return Math.max(1, Math.ceil(bytes.length / 1024));
}
