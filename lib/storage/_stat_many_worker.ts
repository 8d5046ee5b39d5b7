/**
 * The helper thread of stat_many.ts: takes blocks of the job from the shared
 * counter and does their items in order, counting each one done in its
 * block's word, until no block is left or an item fails (which the calling
 * thread then does again itself, with its own error handling).
 *
 * @module
 */

import { BLOCK, CONTROL, type ManyJob } from "./_stat_many_job.ts";

const scope = self as unknown as Worker;

function run({ op, paths, dests, control: buffer, stamps, first }: ManyJob): void {
  const control = new Int32Array(buffer);
  const numbers = stamps === undefined ? undefined : new Float64Array(stamps);
  const blocks = control.length - CONTROL.blocks;
  Atomics.store(control, CONTROL.active, 1);
  try {
    for (
      let b = Atomics.add(control, CONTROL.next, 1);
      b < blocks;
      b = Atomics.add(control, CONTROL.next, 1)
    ) {
      if (first && b === 0) scope.postMessage("started");
      const start = b * BLOCK;
      const end = Math.min(paths.length, start + BLOCK);
      for (let i = start; i < end; i++) {
        if (op === "link") Deno.linkSync(paths[i], dests![i]);
        else {
          const info = Deno.statSync(paths[i]);
          numbers![3 * i] = info.mtime?.getTime() ?? 0;
          numbers![3 * i + 1] = info.size;
          numbers![3 * i + 2] = info.ino ?? 0;
        }
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
  scope.postMessage("done");
};
