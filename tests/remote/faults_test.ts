/**
 * Transient faults between Pivot and a real S3 server (s3rver behind a
 * fault-injecting proxy): 500s, resets, stalls and downloads cut mid-way are
 * retried; an object that keeps failing is reported while the others go on.
 */

import { test } from "../_harness.ts";
import { assert, assertEquals } from "../_assert.ts";
import { openState, tempDir } from "../_project.ts";
import { remoteSpec } from "../../lib/remote/config.ts";
import { openRemote } from "../../lib/remote/open.ts";
import { fetchObjects, pushObjects } from "../../lib/remote/transfer.ts";
import { hashFile } from "../../lib/storage/hash.ts";
import type { StateStore } from "../../lib/storage/state.ts";
import { FaultProxy } from "./_fault_proxy.ts";
import { assertIncludes, rejectsWith } from "./_check.ts";
import { RemoteError } from "../../lib/remote/backend.ts";
import { cacheIn, storeFiles } from "./_objects.ts";
import { S3RVER_LOOKUP, startS3rver } from "./_s3rver.ts";

const BUCKET = "pivot-faults";
const isPut = (method: string) => method === "PUT";
const isGet = (method: string, path: string) => method === "GET" && !path.includes("list-type");

test("S3 transfers survive transient faults", async (t) => {
  await using server = await startS3rver(BUCKET);
  await using proxy = FaultProxy.start(server.port);
  let prefixes = 0;
  const open = (state: StateStore, attempts = 6, rangedFrom?: number) =>
    openRemote(
      remoteSpec("origin", { url: `s3://${BUCKET}/p${++prefixes}`, endpoint: proxy.endpoint }, "/"),
      state,
      {
        jobs: 2,
        s3: {
          lookup: S3RVER_LOOKUP,
          timeoutMs: 1_000,
          partSize: 128 * 1024,
          multipartThreshold: 128 * 1024,
          retry: { attempts, baseMs: 10, maxMs: 50 },
          ...(rangedFrom ? { rangedFrom } : {}),
        },
      },
    );

  for (const fault of ["500", "reset", "stall"] as const) {
    await t.step(
      `uploads and downloads are retried after ${fault === "500" ? "500s" : fault + "s"}`,
      async () => {
        await using dir = await tempDir();
        await using state = await openState(dir.root);
        const cache = cacheIn(dir.root);
        const files = await storeFiles(cache, dir.path("scratch"), [100, 2000, 300 * 1024]);
        const remote = await open(state);
        // Deno's HTTP client itself re-sends a request once when a reused
        // connection closes before answering; enough resets reach Pivot's retries.
        const times = fault === "reset" ? 4 : 2;
        proxy.inject(fault, times, isPut);
        const problems: string[] = [];
        const pushed = await pushObjects(remote, cache, state, files, {
          onProblem: (m) => problems.push(m),
        });
        assertEquals(problems, []);
        assertEquals(pushed.transferred, 3);
        assert(remote.backend.stats.retries >= 1, `${remote.backend.stats.retries} retries`);
        assertEquals(
          proxy.requests.filter((r) => r.fault === fault && r.method === "PUT").length,
          times,
        );

        proxy.inject(fault, times, isGet);
        const fresh = cacheIn(dir.root, "fresh");
        const fetched = await fetchObjects(remote, fresh, state, files, {
          onProblem: (m) => problems.push(m),
        });
        assertEquals(problems, []);
        assertEquals(fetched.transferred, 3);
        for (const { hash } of files) assertEquals(await hashFile(fresh.objectPath(hash)), hash);
      },
    );
  }

  await t.step("a download cut mid-way is retried from the start and checked", async () => {
    await using dir = await tempDir();
    await using state = await openState(dir.root);
    const cache = cacheIn(dir.root);
    const files = await storeFiles(cache, dir.path("scratch"), [1024 * 1024]);
    const remote = await open(state);
    await pushObjects(remote, cache, state, files);
    proxy.inject("cut", 1, isGet);
    const fresh = cacheIn(dir.root, "fresh");
    const fetched = await fetchObjects(remote, fresh, state, files);
    assertEquals(fetched, { transferred: 1, skipped: 0, failed: 0, bytes: 1024 * 1024 });
    assertEquals(await hashFile(fresh.objectPath(files[0]!.hash)), files[0]!.hash);
  });

  await t.step("a download in ranges, some cut mid-way, retries those and is checked", async () => {
    await using dir = await tempDir();
    await using state = await openState(dir.root);
    const cache = cacheIn(dir.root);
    const size = 2 * 1024 * 1024 + 5;
    const files = await storeFiles(cache, dir.path("scratch"), [size]);
    const remote = await open(state, 6, 1024 * 1024);
    await pushObjects(remote, cache, state, files);
    // The first GET and one range are cut after 64 KiB.
    const cuts = () => proxy.requests.filter((r) => r.fault === "cut").length;
    const before = cuts();
    proxy.inject("cut", 2, isGet);
    const fresh = cacheIn(dir.root, "fresh");
    const fetched = await fetchObjects(remote, fresh, state, files);
    assertEquals(fetched, { transferred: 1, skipped: 0, failed: 0, bytes: size });
    assertEquals(await hashFile(fresh.objectPath(files[0]!.hash)), files[0]!.hash);
    assertEquals(cuts() - before, 2);
  });

  await t.step("a server that stops answering stops the push with one line", async () => {
    await using dir = await tempDir();
    await using state = await openState(dir.root);
    const cache = cacheIn(dir.root);
    const files = await storeFiles(
      cache,
      dir.path("scratch"),
      Array.from({ length: 20 }, () => 10),
    );
    const remote = await open(state, 2);
    await remote.backend.check();
    proxy.inject("reset", 1_000, isPut);
    const error = await rejectsWith(() => pushObjects(remote, cache, state, files), RemoteError);
    proxy.rules.length = 0;
    assertIncludes(error.message, "lost contact with");
    assertIncludes(error.message, "remote 'origin'");
    assert(proxy.requests.filter((r) => r.fault === "reset").length < 40, "it stopped early");
  });

  await t.step("an object that keeps failing is reported; the others are transferred", async () => {
    await using dir = await tempDir();
    await using state = await openState(dir.root);
    const cache = cacheIn(dir.root);
    const files = await storeFiles(cache, dir.path("scratch"), [10, 20, 30]);
    const remote = await open(state, 3);
    const doomed = files[1]!.hash;
    proxy.inject("500", 3, (method, path) => method === "PUT" && path.includes(doomed.slice(2)));
    const problems: string[] = [];
    const pushed = await pushObjects(remote, cache, state, files, {
      onProblem: (m) => problems.push(m),
    });
    assertEquals(pushed, { transferred: 2, skipped: 0, failed: 1, bytes: 40 });
    assertEquals(problems.length, 1);
    assertIncludes(problems[0]!, "remote 'origin'");
    assertIncludes(problems[0]!, "failed after 3 tries");
    // Run again: only the failed object is left to do.
    const again = await pushObjects(remote, cache, state, files);
    assertEquals(again, { transferred: 1, skipped: 2, failed: 0, bytes: 20 });
  });
});
