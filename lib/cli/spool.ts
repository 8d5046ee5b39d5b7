/**
 * A spool: text collected now and written out later, in order, kept in
 * memory while small and moved to a temporary file once it grows. Output
 * that must be grouped (added rows, then removed, then modified) while it
 * is found in another order stays within bounded memory.
 *
 * @module
 */

/** Text collected for later, in memory up to {@link Spool.limit} characters, then on disk. */
export class Spool implements AsyncDisposable {
  /** Characters kept in memory before moving to a file. */
  static readonly limit = 1 << 20;
  readonly #dir: string;
  #parts: string[] = [];
  #size = 0;
  #file: Deno.FsFile | undefined;
  #path: string | undefined;
  /** Items added. */
  count = 0;

  /** A spool whose file, if it needs one, goes in `dir` (created if missing). */
  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Add `text` (one item; {@link count} counts them). */
  async add(text: string): Promise<void> {
    this.count++;
    this.#parts.push(text);
    this.#size += text.length;
    if (this.#size >= Spool.limit) await this.#spill();
  }

  async #spill(): Promise<void> {
    if (this.#file === undefined) {
      await Deno.mkdir(this.#dir, { recursive: true });
      this.#path = await Deno.makeTempFile({ dir: this.#dir, prefix: "spool-" });
      this.#file = await Deno.open(this.#path, { write: true });
    }
    const bytes = new TextEncoder().encode(this.#parts.join(""));
    for (let offset = 0; offset < bytes.length;) {
      offset += await this.#file.write(bytes.subarray(offset));
    }
    this.#parts = [];
    this.#size = 0;
  }

  /** Give everything collected, in order, to `write`, a chunk at a time. */
  async drain(write: (text: string) => void): Promise<void> {
    if (this.#file !== undefined) {
      await this.#spill();
      this.#file.close();
      this.#file = undefined;
      using file = await Deno.open(this.#path!);
      const decoder = new TextDecoder();
      const buffer = new Uint8Array(1 << 20);
      for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
        write(decoder.decode(buffer.subarray(0, n), { stream: true }));
      }
      write(decoder.decode());
    }
    write(this.#parts.join(""));
    this.#parts = [];
    this.#size = 0;
  }

  /** Remove the spool's file, if any. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#file?.close();
    this.#file = undefined;
    if (this.#path !== undefined) await Deno.remove(this.#path).catch(() => {});
  }
}
