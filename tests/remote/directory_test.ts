/** Directory remotes, on a temporary directory. */

import { test } from "../_harness.ts";
import { join } from "node:path";
import { assert, assertEquals } from "../_assert.ts";
import { openState, tempDir, writeInPlaceLater } from "../_project.ts";
import { RemoteError } from "../../lib/remote/backend.ts";
import { remoteSpec } from "../../lib/remote/config.ts";
import { objectKey } from "../../lib/remote/layout.ts";
import { openRemote } from "../../lib/remote/open.ts";
import { fetchObjects, pushObjects } from "../../lib/remote/transfer.ts";
import { hashFile } from "../../lib/storage/hash.ts";
import { assertIncludes, rejectsWith } from "./_check.ts";
import { cacheIn, randomBytes, storeDirectory, storeFiles } from "./_objects.ts";

test("a directory remote takes objects in the cache's layout and gives them back", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = cacheIn(dir.root);
  const files = await storeFiles(cache, dir.path("scratch"), [0, 1, 70_000]);
  const { target, files: inside } = await storeDirectory(cache, dir.path("scratch"), 10, 50);
  await Deno.mkdir(dir.path("remote"));
  const remote = await openRemote(remoteSpec("share", { url: "remote" }, dir.root), state);
  await remote.backend.check();
  const pushed = await pushObjects(remote, cache, state, [...files, target]);
  assertEquals(pushed.transferred, 3 + 10 + 1);
  for (const { hash } of files) {
    assertEquals(await hashFile(join(dir.root, "remote", objectKey(hash))), hash);
  }
  const fresh = cacheIn(dir.root, "fresh");
  const fetched = await fetchObjects(remote, fresh, state, [...files, target]);
  assertEquals(fetched.transferred, 14);
  for (const hash of [...files.map((f) => f.hash), target.hash, ...inside]) {
    assertEquals(await hashFile(fresh.objectPath(hash)), hash);
  }
  assertEquals((await pushObjects(remote, cache, state, [...files, target])).transferred, 0);
});

test("a directory remote ignores temporary files and finds corrupt objects", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = cacheIn(dir.root);
  const [file] = await storeFiles(cache, dir.path("scratch"), [500]);
  const root = dir.path("remote");
  await Deno.mkdir(join(root, "files", file!.hash.slice(0, 2)), { recursive: true });
  // A killed push leaves a temporary name, never the object's own.
  await Deno.writeFile(join(root, objectKey(file!.hash)) + ".123.1.tmp", randomBytes(10));
  const remote = await openRemote(remoteSpec("share", { url: root }, "/"), state);
  assertEquals((await pushObjects(remote, cache, state, [file!])).transferred, 1);

  const path = join(root, objectKey(file!.hash));
  await Deno.chmod(path, 0o644);
  await Deno.writeFile(path, randomBytes(500));
  const fresh = cacheIn(dir.root, "fresh");
  const problems: string[] = [];
  const fetched = await fetchObjects(remote, fresh, state, [file!], {
    onProblem: (m) => problems.push(m),
  });
  assertEquals(fetched.failed, 1);
  assertIncludes(problems[0]!, "is corrupt");
  assert(!fresh.has(file!.hash));
});

test("a directory remote that does not exist is one line saying what to check", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const remote = await openRemote(remoteSpec("share", { url: "/nonexistent/pivot" }, "/"), state);
  const error = await rejectsWith(() => remote.backend.check(), RemoteError);
  assertIncludes(error.message, "remote 'share' (/nonexistent/pivot)");
  assertIncludes(error.message, "check that it is mounted");
});

test("fetch replaces a corrupt local manifest from the remote", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = cacheIn(dir.root);
  const { target } = await storeDirectory(cache, dir.path("scratch"), 3, 10);
  await Deno.mkdir(dir.path("remote"));
  const remote = await openRemote(remoteSpec("share", { url: "remote" }, dir.root), state);
  await pushObjects(remote, cache, state, [target]);

  const path = cache.objectPath(target.hash);
  const size = (await Deno.stat(path)).size;
  await writeInPlaceLater(path, randomBytes(size));
  const problems: string[] = [];
  const fetched = await fetchObjects(remote, cache, state, [target], {
    onProblem: (m) => problems.push(m),
  });
  assertEquals(fetched.transferred, 1);
  assertIncludes(problems[0]!, "is corrupt");
  assertEquals(await hashFile(path), target.hash);
});
