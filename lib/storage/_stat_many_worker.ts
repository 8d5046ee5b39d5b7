/**
 * The helper thread of stat_many.ts: takes blocks of the job (from the last
 * back) as the shared count of taken blocks allows, and does their items in
 * order, counting each one done in its
 * block's word, until no block is left or an item fails (which the calling
 * thread then does again itself, with its own error handling).
 *
 * @module
 */

import { BLOCK, CONTROL, type ManyJob, type ManyReply, PATH_SEPARATOR } from "./_stat_many_job.ts";

const scope = self as unknown as Worker;

function run(
  { id, op, paths: joined, dests: joinedDests, control: buffer, stamps, first }: ManyJob,
): void {
  const control = new Int32Array(buffer);
  const numbers = stamps === undefined ? undefined : new Float64Array(stamps);
  const blocks = control.length - CONTROL.blocks;
  const paths = joined.split(PATH_SEPARATOR);
  const dests = joinedDests?.split(PATH_SEPARATOR);
  Atomics.store(control, CONTROL.active, 1);
  try {
    // From the last block back (the calling thread takes them from the first on).
    for (let k = 0; Atomics.add(control, CONTROL.taken, 1) < blocks; k++) {
      const b = blocks - 1 - k;
      if (first && k === 0) scope.postMessage({ id, event: "started" } satisfies ManyReply);
      const start = b * BLOCK;
      const end = Math.min(paths.length, start + BLOCK);
      for (let i = start; i < end; i++) {
        if (op !== "link") {
          const info = Deno.statSync(paths[i]);
          numbers![4 * i] = info.mtime?.getTime() ?? 0;
          numbers![4 * i + 1] = info.size;
          numbers![4 * i + 2] = info.ino ?? 0;
          numbers![4 * i + 3] = info.dev;
        }
        if (op !== "stat") Deno.linkSync(paths[i], dests![i]);
        Atomics.store(control, CONTROL.blocks + b, i - start + 1);
      }
    }
  } catch {
    // Left to the calling thread, from this item on (and the blocks it takes from now).
  } finally {
    Atomics.store(control, CONTROL.active, 0);
  }
}

scope.onmessage = (event: MessageEvent<ManyJob>) => {
  run(event.data);
  scope.postMessage({ id: event.data.id, event: "done" } satisfies ManyReply);
};
