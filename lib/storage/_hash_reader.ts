/**
 * The reader worker of {@link hashFile}'s parallel path (hash.ts): it reads
 * a big file into a ring of chunks in the hasher's shared memory while the
 * main thread hashes the chunks already read, so that the kernel's copy and
 * the hash run on two cores. The protocol (words of `Int32Array` at
 * {@link CONTROL}) is described in hash.ts.
 *
 * @module
 */

import { CONTROL, type ReaderJob, RING, SLOT, SLOTS } from "./_hash_ring.ts";

/** Run one job; every way out leaves a word the main thread is waiting for. */
function read({ memory, path, ino }: ReaderJob): void {
  const control = new Int32Array(memory.buffer, CONTROL.at, CONTROL.words);
  const offset = new BigInt64Array(memory.buffer, CONTROL.at + CONTROL.offsetByte, 1);
  const publish = (word: number, value: number) => {
    Atomics.store(control, word, value);
    Atomics.notify(control, word);
  };
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
    // The path may name another file by now (renamed over): then not this one.
    if (file.statSync().ino !== ino) {
      file.close();
      publish(CONTROL.ready, -1);
      return;
    }
  } catch {
    publish(CONTROL.ready, -1);
    return;
  }
  try {
    publish(CONTROL.ready, 1);
    while (Atomics.load(control, CONTROL.go) === 0) Atomics.wait(control, CONTROL.go, 0);
    if (Atomics.load(control, CONTROL.go) < 0) return;
    file.seekSync(Number(offset[0]), Deno.SeekMode.Start);
    for (let seq = 0;; seq++) {
      // Wait for the main thread to free the slot this chunk goes to.
      while (true) {
        if (Atomics.load(control, CONTROL.go) < 0) return;
        const consumed = Atomics.load(control, CONTROL.consumed);
        if (seq - consumed < SLOTS) break;
        Atomics.wait(control, CONTROL.consumed, consumed, 1000);
      }
      const slot = seq % SLOTS;
      let n: number;
      try {
        n = file.readSync(new Uint8Array(memory.buffer, RING + slot * SLOT, SLOT)) ?? 0;
      } catch {
        n = -1;
      }
      control[CONTROL.lengths + slot] = n;
      publish(CONTROL.produced, seq + 1);
      if (n <= 0) return;
    }
  } finally {
    file.close();
  }
}

(self as unknown as Worker).onmessage = (event: MessageEvent<ReaderJob>) => {
  read(event.data);
  // One job per worker: the main thread terminates it once the hash is done.
};
