/**
 * The thread of object_writer.ts: makes cache objects from bytes it is
 * given, each written to its temporary name and renamed to the object's,
 * and answers each batch with the objects' stamps (or which ones it could
 * not make, which the calling thread then makes itself).
 *
 * @module
 */

import { PATH_SEPARATOR, type WriteBatch, type WriteReply } from "./_object_writer_job.ts";
import { writeObjectFile } from "../libc_fs.ts";

const scope = self as unknown as Worker;

function run(
  { id, temps: joinedTemps, objects: joinedObjects, contents, ends, done }: WriteBatch,
): WriteReply {
  const count = new Int32Array(done);
  const temps = joinedTemps.split(PATH_SEPARATOR);
  const objects = joinedObjects.split(PATH_SEPARATOR);
  const stamps = new Float64Array(temps.length * 4);
  const failed: number[] = [];
  for (let i = 0; i < temps.length; i++) {
    const temp = temps[i];
    const bytes = contents.subarray(i === 0 ? 0 : ends[i - 1], ends[i]);
    // Through libc (five calls and a rename, nothing left behind when any
    // fails); else by Deno's calls, which meet the error again.
    const fast = writeObjectFile(temp, objects[i], bytes);
    if (fast !== undefined) {
      stamps[4 * i] = fast.mtime;
      stamps[4 * i + 1] = fast.size;
      stamps[4 * i + 2] = fast.ino;
      stamps[4 * i + 3] = fast.dev;
    } else {
      try {
        // `writeFileSync` with a `mode`: one Deno call for open, `fchmod`
        // (the exact mode, whatever the umask), write and close.
        Deno.writeFileSync(temp, bytes, { createNew: true, mode: 0o444 });
        const info = Deno.statSync(temp);
        Deno.renameSync(temp, objects[i]);
        stamps[4 * i] = info.mtime?.getTime() ?? 0;
        stamps[4 * i + 1] = info.size;
        stamps[4 * i + 2] = info.ino ?? 0;
        stamps[4 * i + 3] = info.dev;
      } catch (error) {
        // Left to the calling thread, which meets the error itself (and
        // throws it as its own); nothing half-written stays behind. Something
        // already at the temporary name is not ours to remove.
        failed.push(i);
        if (!(error instanceof Deno.errors.AlreadyExists)) {
          try {
            Deno.removeSync(temp);
          } catch {
            // Never made, or renamed already.
          }
        }
      }
    }
    Atomics.add(count, 0, 1);
    Atomics.add(count, 1, Math.max(1, Math.ceil(bytes.length / 1024)));
  }
  return { id, stamps, failed };
}

scope.onmessage = (event: MessageEvent<WriteBatch>) => {
  scope.postMessage(run(event.data));
};
