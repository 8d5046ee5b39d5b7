/**
 * Push and fetch against a real S3-protocol server (s3rver, a child process
 * on 127.0.0.1), one server for the file; each step uses its own prefix.
 */

import { test } from "../_harness.ts";
import { assert, assertEquals } from "../_assert.ts";
import { assertIncludes, rejectsWith } from "./_check.ts";
import { openState, tempDir } from "../_project.ts";
import { type RemoteConfig, remoteSpec } from "../../lib/remote/config.ts";
import { RemoteError } from "../../lib/remote/backend.ts";
import { objectKey } from "../../lib/remote/layout.ts";
import { openRemote } from "../../lib/remote/open.ts";
import { fetchRunEntries, pushRunEntries } from "../../lib/remote/run_cache.ts";
import type { S3Options } from "../../lib/remote/s3.ts";
import { fetchObjects, pushObjects } from "../../lib/remote/transfer.ts";
import { stampOf, type StateStore } from "../../lib/storage/state.ts";
import { hashFile } from "../../lib/storage/hash.ts";
import { cacheIn, randomBytes, storeDirectory, storeFiles } from "./_objects.ts";
import { S3RVER_LOOKUP, startS3rver } from "./_s3rver.ts";

const BUCKET = "pivot-test";
const FAST: S3Options = {
  lookup: S3RVER_LOOKUP,
  timeoutMs: 5_000,
  partSize: 64 * 1024,
  multipartThreshold: 64 * 1024,
};

test("S3 remote (s3rver)", async (t) => {
  await using server = await startS3rver(BUCKET);
  let prefixes = 0;
  const open = (
    state: StateStore,
    config: Partial<RemoteConfig> = {},
    s3: S3Options = FAST,
    prefix?: string,
  ) =>
    openRemote(
      remoteSpec("origin", {
        url: `s3://${BUCKET}/${prefix ?? `p${++prefixes}`}`,
        endpoint: server.endpoint,
        ...config,
      }, "/"),
      state,
      { s3, jobs: 4 },
    );

  await t.step(
    "push uploads files and directories; fetch brings them back byte for byte",
    async () => {
      await using dir = await tempDir();
      await using state = await openState(dir.root);
      const cache = cacheIn(dir.root);
      const files = await storeFiles(cache, dir.path("scratch"), [0, 10, 5000, 200_000]);
      const { target: folder, files: inside } = await storeDirectory(
        cache,
        dir.path("scratch"),
        20,
        100,
      );
      const remote = await open(state);
      await remote.backend.check();
      const problems: string[] = [];
      const pushed = await pushObjects(remote, cache, state, [...files, folder], {
        onProblem: (m) => problems.push(m),
      });
      assertEquals(problems, []);
      assertEquals(pushed.transferred, 4 + 20 + 1);
      assertEquals(pushed.failed, 0);

      await using other = await openState(dir.path("other"));
      const fresh = cacheIn(dir.root, "fresh");
      const fetched = await fetchObjects(
        await open(other, {}, FAST, `p${prefixes}`),
        fresh,
        other,
        [...files, folder],
        {
          onProblem: (m) => problems.push(m),
        },
      );
      assertEquals(problems, []);
      assertEquals(fetched.transferred, 25);
      for (const hash of [...files.map((f) => f.hash), folder.hash, ...inside]) {
        assertEquals(await hashFile(fresh.objectPath(hash)), hash);
      }
      assertEquals([...Deno.readDirSync(dir.path("fresh", "tmp"))], [], "no download left behind");
    },
  );

  await t.step(
    "a no-op push asks nothing with a warm index, and lists with a cold one",
    async () => {
      await using dir = await tempDir();
      await using state = await openState(dir.root);
      const cache = cacheIn(dir.root);
      const files = await storeFiles(
        cache,
        dir.path("scratch"),
        Array.from({ length: 300 }, () => 64),
      );
      const remote = await open(state);
      await pushObjects(remote, cache, state, files);
      const before = remote.backend.stats.requests;
      const again = await pushObjects(remote, cache, state, files);
      assertEquals(again, { transferred: 0, skipped: 300, failed: 0, bytes: 0 });
      assertEquals(remote.backend.stats.requests, before, "warm index: no request");

      await using cold = await openState(dir.path("cold"));
      const coldRemote = await open(cold, {}, FAST, `p${prefixes}`);
      const plans: string[] = [];
      const summary = await pushObjects(coldRemote, cache, cold, files, {
        onPlan: (p) => plans.push(p.method),
      });
      assertEquals(summary.skipped, 300);
      assertEquals(plans, ["list"]);
      assert(
        coldRemote.backend.stats.requests <= 3,
        `cold index: ${coldRemote.backend.stats.requests} requests`,
      );
    },
  );

  await t.step("listings page through more than 1,000 objects", async () => {
    await using dir = await tempDir();
    await using state = await openState(dir.root);
    const remote = await open(state);
    const keys = Array.from(
      { length: 1_050 },
      (_, i) => `files/${(i % 256).toString(16).padStart(2, "0")}/${String(i).padStart(14, "0")}`,
    );
    const queue = [...keys];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
        await remote.backend.putBytes(key, new Uint8Array([1]));
      }
    }));
    const pages: number[] = [];
    const seen: string[] = [];
    for await (const page of remote.backend.list("files/")) {
      pages.push(page.length);
      seen.push(...page.map((o) => o.key));
    }
    assertEquals(pages, [1000, 50]);
    assertEquals(seen.sort(), keys.sort());
  });

  await t.step("an object larger than a part goes up in parts and comes back intact", async () => {
    await using dir = await tempDir();
    await using state = await openState(dir.root);
    const cache = cacheIn(dir.root);
    const [big] = await storeFiles(cache, dir.path("scratch"), [64 * 1024 * 5 + 123]);
    const remote = await open(state);
    const summary = await pushObjects(remote, cache, state, [big!]);
    assertEquals(summary.transferred, 1);
    // probe listing + create + 6 parts + complete
    assert(remote.backend.stats.requests >= 9, `${remote.backend.stats.requests} requests`);
    const fresh = cacheIn(dir.root, "fresh");
    await fetchObjects(remote, fresh, state, [big!]);
    assertEquals(await hashFile(fresh.objectPath(big!.hash)), big!.hash);
  });

  await t.step(
    "below the multipart threshold a file of many parts' size goes up in one PUT",
    async () => {
      await using dir = await tempDir();
      await using state = await openState(dir.root);
      const cache = cacheIn(dir.root);
      const [big] = await storeFiles(cache, dir.path("scratch"), [64 * 1024 * 5 + 123]);
      // The default threshold (200 MiB), with 64 KiB parts.
      const remote = await open(state, {}, { lookup: S3RVER_LOOKUP, partSize: 64 * 1024 });
      const summary = await pushObjects(remote, cache, state, [big!]);
      assertEquals(summary.transferred, 1);
      // probe listing + one PUT
      assertEquals(remote.backend.stats.requests, 2);
      const fresh = cacheIn(dir.root, "fresh");
      await fetchObjects(remote, fresh, state, [big!]);
      assertEquals(await hashFile(fresh.objectPath(big!.hash)), big!.hash);
    },
  );

  await t.step(
    "a large download is hashed as it arrives: a corrupt one stays out, a good one is remembered as checked",
    async () => {
      await using dir = await tempDir();
      await using state = await openState(dir.root);
      const cache = cacheIn(dir.root);
      const [good, bad] = await storeFiles(cache, dir.path("scratch"), [600_000, 700_000]);
      const remote = await open(state);
      await pushObjects(remote, cache, state, [good!, bad!]);
      await remote.backend.putBytes(objectKey(bad!.hash), randomBytes(700_000));

      const fresh = cacheIn(dir.root, "fresh");
      const problems: string[] = [];
      const fetched = await fetchObjects(remote, fresh, state, [good!, bad!], {
        onProblem: (m) => problems.push(m),
      });
      assertEquals([fetched.transferred, fetched.failed], [1, 1]);
      assertEquals(problems.length, 1);
      assertIncludes(problems[0]!, `object ${bad!.hash} is corrupt`);
      assert(!fresh.has(bad!.hash), "the corrupt object never enters the cache");
      assertEquals(await hashFile(fresh.objectPath(good!.hash)), good!.hash);
      // Checked on arrival: a checkout right after does not read it again.
      const stamp = stampOf(Deno.statSync(fresh.objectPath(good!.hash)));
      assertEquals(await state.objectStamp(good!.hash), stamp);
    },
  );

  await t.step(
    "a large object comes down in 4 ranges at once, intact; a corrupt one stays out",
    async () => {
      await using dir = await tempDir();
      await using state = await openState(dir.root);
      const cache = cacheIn(dir.root);
      const size = 1024 * 1024 + 3; // not a multiple of 4
      const [good, bad] = await storeFiles(cache, dir.path("scratch"), [size, size + 1]);
      const ranged = { ...FAST, rangedFrom: 1024 * 1024 };
      const remote = await open(state, {}, ranged);
      await pushObjects(remote, cache, state, [good!, bad!]);
      await remote.backend.putBytes(objectKey(bad!.hash), randomBytes(size + 1));

      const fresh = cacheIn(dir.root, "fresh");
      const reader = await open(state, {}, ranged, "p" + prefixes);
      const problems: string[] = [];
      const bytes: number[] = [];
      const fetched = await fetchObjects(reader, fresh, state, [good!], {
        onProblem: (m) => problems.push(m),
      });
      assertEquals([fetched.transferred, problems], [1, []]);
      assertEquals(await hashFile(fresh.objectPath(good!.hash)), good!.hash);
      // one GET answering with the length, then three ranges
      assertEquals(reader.backend.stats.requests, 4);

      const download = dir.path("scratch", "download");
      const got = await reader.backend.download(
        objectKey(bad!.hash),
        download,
        (n) => bytes.push(n),
      );
      assertEquals(got?.size, size + 1);
      assertEquals(bytes.reduce((a, b) => a + b, 0), size + 1);
      const corrupt = await fetchObjects(reader, fresh, state, [bad!], {
        onProblem: (m) => problems.push(m),
      });
      assertEquals(corrupt.failed, 1);
      assertIncludes(problems[0]!, `object ${bad!.hash} is corrupt`);
      assert(!fresh.has(bad!.hash), "the corrupt object never enters the cache");
    },
  );

  await t.step(
    "a corrupt remote object is reported, kept out of the cache, and replaced by the next push",
    async () => {
      await using dir = await tempDir();
      await using state = await openState(dir.root);
      const cache = cacheIn(dir.root);
      const [file] = await storeFiles(cache, dir.path("scratch"), [1000]);
      const remote = await open(state);
      await pushObjects(remote, cache, state, [file!]);
      await remote.backend.putBytes(objectKey(file!.hash), randomBytes(1000));

      const fresh = cacheIn(dir.root, "fresh");
      const problems: string[] = [];
      const fetched = await fetchObjects(remote, fresh, state, [file!], {
        onProblem: (m) => problems.push(m),
      });
      assertEquals(fetched.failed, 1);
      assertIncludes(problems[0]!, "is corrupt");
      assertIncludes(problems[0]!, "remote 'origin'");
      assert(!fresh.has(file!.hash), "the corrupt object never enters the cache");

      const repushed = await pushObjects(remote, cache, state, [file!]);
      assertEquals(repushed.transferred, 1);
      const again: string[] = [];
      const refetched = await fetchObjects(remote, fresh, state, [file!], {
        onProblem: (m) => again.push(m),
      });
      assertEquals(refetched.transferred, 1, again.join("\n"));
      assertEquals(await hashFile(fresh.objectPath(file!.hash)), file!.hash);
    },
  );

  await t.step("a corrupt local object is reported and not pushed", async () => {
    await using dir = await tempDir();
    await using state = await openState(dir.root);
    const cache = cacheIn(dir.root);
    const [small, large] = await storeFiles(cache, dir.path("scratch"), [100, 300 * 1024]);
    for (const { hash } of [small!, large!]) {
      const path = cache.objectPath(hash);
      const size = (await Deno.stat(path)).size;
      await Deno.chmod(path, 0o644);
      await Deno.writeFile(path, randomBytes(size));
    }
    const remote = await open(state);
    const problems: string[] = [];
    const summary = await pushObjects(remote, cache, state, [small!, large!], {
      onProblem: (m) => problems.push(m),
    });
    assertEquals(summary.failed, 2);
    assertEquals(problems.filter((p) => p.includes("is corrupt")).length, 2);
    assertEquals(await remote.backend.head(objectKey(small!.hash)), undefined);
    assertEquals(await remote.backend.head(objectKey(large!.hash)), undefined);
  });

  await t.step(
    "an object of the wrong size on the remote (a partial write) is uploaded again",
    async () => {
      await using dir = await tempDir();
      await using state = await openState(dir.root);
      const cache = cacheIn(dir.root);
      const [file] = await storeFiles(cache, dir.path("scratch"), [5000]);
      const remote = await open(state);
      await remote.backend.putBytes(objectKey(file!.hash), randomBytes(100));
      const summary = await pushObjects(remote, cache, state, [file!]);
      assertEquals(summary.transferred, 1);
      assertEquals(await remote.backend.head(objectKey(file!.hash)), 5000);
    },
  );

  await t.step(
    "fetch reports an object the remote lacks and still fetches the others",
    async () => {
      await using dir = await tempDir();
      await using state = await openState(dir.root);
      const cache = cacheIn(dir.root);
      const files = await storeFiles(cache, dir.path("scratch"), [10, 20]);
      const remote = await open(state);
      await pushObjects(remote, cache, state, [files[0]!]);
      const fresh = cacheIn(dir.root, "fresh");
      const problems: string[] = [];
      const summary = await fetchObjects(remote, fresh, state, files, {
        onProblem: (m) => problems.push(m),
      });
      assertEquals(summary, { transferred: 1, skipped: 0, failed: 1, bytes: 10 });
      assertIncludes(problems[0]!, `has no object ${files[1]!.hash}`);
    },
  );

  await t.step(
    "a directory whose manifest is on the remote costs no request per file",
    async () => {
      await using dir = await tempDir();
      await using state = await openState(dir.root);
      const cache = cacheIn(dir.root);
      const { target } = await storeDirectory(cache, dir.path("scratch"), 50, 10);
      await pushObjects(await open(state), cache, state, [target]);
      await using cold = await openState(dir.path("cold"));
      const remote = await open(cold, {}, FAST, `p${prefixes}`);
      const summary = await pushObjects(remote, cache, cold, [target]);
      assertEquals(summary, { transferred: 0, skipped: 51, failed: 0, bytes: 0 });
      assert(remote.backend.stats.requests <= 2, `${remote.backend.stats.requests} requests`);
    },
  );

  await t.step("run-cache entries go up once and come back on another machine", async () => {
    await using dir = await tempDir();
    await using state = await openState(dir.root);
    const remote = await open(state);
    const entries = [
      {
        stageKey: ".pivot/stages/train.lock",
        inputHash: "0123456789abcdef",
        entry: { outs: [{ path: "m" }] },
      },
      { stageKey: ".pivot/stages/train.lock", inputHash: "fedcba9876543210", entry: { outs: [] } },
      { stageKey: ".pivot/stages/eval.lock", inputHash: "00000000000000ff", entry: { outs: [] } },
    ];
    assertEquals(await pushRunEntries(remote, entries), 3);
    assertEquals(await pushRunEntries(remote, entries), 0);
    const fetched = await fetchRunEntries(
      remote,
      [".pivot/stages/train.lock", ".pivot/stages/eval.lock"],
      (_stage, input) => input === "fedcba9876543210",
    );
    const sorted = fetched.sort((a, b) => a.inputHash.localeCompare(b.inputHash));
    assertEquals(sorted, [entries[2]!, entries[0]!]);
  });

  await t.step(
    "unknown credentials give one line naming the remote and the credentials' source",
    async () => {
      await using dir = await tempDir();
      await using state = await openState(dir.root);
      const remote = await open(state, { access_key_id: "nobody", secret_access_key: "x" });
      const error = await rejectsWith(() => remote.backend.check(), RemoteError);
      assertIncludes(error.message, "remote 'origin'");
      assertIncludes(error.message, "InvalidAccessKeyId");
      assertIncludes(error.message, "check the credentials");
      assert(!error.message.includes("\n"));
    },
  );

  await t.step("a missing bucket is one line naming it", async () => {
    await using dir = await tempDir();
    await using state = await openState(dir.root);
    const remote = await openRemote(
      remoteSpec("origin", { url: "s3://no-such-bucket/x", endpoint: server.endpoint }, "/"),
      state,
      { s3: FAST },
    );
    const error = await rejectsWith(() => remote.backend.check(), RemoteError);
    assertIncludes(error.message, "bucket 'no-such-bucket' does not exist");
  });

  await t.step("an unreachable endpoint is one line naming it", async () => {
    await using dir = await tempDir();
    await using state = await openState(dir.root);
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const remote = await open(state, { endpoint: `http://127.0.0.1:${port}` });
    const error = await rejectsWith(() => remote.backend.check(), RemoteError);
    assertIncludes(error.message, `cannot reach http://127.0.0.1:${port} for remote 'origin'`);
  });
});
