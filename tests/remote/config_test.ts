/** Remote configuration, credentials lookup and key layout. */

import { test } from "../_harness.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { tempDir } from "../_project.ts";
import { remoteSpec, remoteUrlProblem } from "../../lib/remote/config.ts";
import { resolveAwsSettings } from "../../lib/remote/credentials.ts";
import { hashOfKey, objectKey, objectPrefix } from "../../lib/remote/layout.ts";
import { choosePlan } from "../../lib/remote/existence.ts";

test("s3 URLs give bucket and prefix; other URLs are directories", () => {
  const s3 = remoteSpec("origin", { url: "s3://my-bucket/team/pivot/" }, "/p");
  assert(s3.kind === "s3");
  assertEquals([s3.bucket, s3.prefix], ["my-bucket", "team/pivot/"]);
  const bare = remoteSpec("origin", { url: "s3://my-bucket" }, "/p");
  assert(bare.kind === "s3" && bare.prefix === "");
  const relative = remoteSpec("share", { url: "../cache" }, "/p/q");
  assert(relative.kind === "directory" && relative.path === "/p/cache");
  const file = remoteSpec("share", { url: "file:///mnt/x%20y" }, "/p");
  assert(file.kind === "directory" && file.path === "/mnt/x y");
});

test("remote URLs: s3 with a valid bucket, directories; other schemes refused", async () => {
  assertEquals(remoteUrlProblem("s3://b-1/p"), undefined);
  assertEquals(remoteUrlProblem("/mnt/share"), undefined);
  assertEquals(remoteUrlProblem("file:///mnt/share"), undefined);
  assertMatch(remoteUrlProblem("gs://b")!, /unsupported URL scheme 'gs:\/\/'/);
  await assertRejects(
    () => remoteSpec("o", { url: "gs://b" }, "/"),
    /remote 'o': unsupported URL scheme 'gs:\/\/'/,
  );
  await assertRejects(() => remoteSpec("o", { url: "s3://B_ad" }, "/"), /not a valid bucket name/);
});

test("credentials are found as the AWS CLI finds them", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.path(".aws"));
  await Deno.writeTextFile(
    dir.path(".aws", "credentials"),
    "[default]\naws_access_key_id = DEF\naws_secret_access_key = defsecret\n\n[work]\naws_access_key_id=WORK\naws_secret_access_key=worksecret\naws_session_token=tok\n",
  );
  await Deno.writeTextFile(
    dir.path(".aws", "config"),
    '[profile work]\nregion = eu-west-3\n[profile proc]\ncredential_process = echo \'{"Version":1,"AccessKeyId":"PROC","SecretAccessKey":"s"}\'\n',
  );
  const home = dir.root;
  const config = { url: "s3://b" };

  const env = { AWS_ACCESS_KEY_ID: "ENV", AWS_SECRET_ACCESS_KEY: "envsecret" };
  assertEquals(
    (await resolveAwsSettings("o", config, { env, home })).credentials.accessKeyId,
    "ENV",
  );
  assertEquals(
    (await resolveAwsSettings("o", config, { env: {}, home })).credentials.accessKeyId,
    "DEF",
  );
  const work = await resolveAwsSettings("o", config, { env: { AWS_PROFILE: "work" }, home });
  assertEquals([work.credentials.accessKeyId, work.credentials.sessionToken, work.region], [
    "WORK",
    "tok",
    "eu-west-3",
  ]);
  // A profile named by the remote beats the environment's keys.
  const named = await resolveAwsSettings("o", { ...config, profile: "work" }, { env, home });
  assertEquals(named.credentials.accessKeyId, "WORK");
  const proc = await resolveAwsSettings("o", { ...config, profile: "proc" }, { env: {}, home });
  assertEquals(proc.credentials.accessKeyId, "PROC");
  const moved = await resolveAwsSettings("o", config, {
    env: {
      AWS_SHARED_CREDENTIALS_FILE: dir.path("none"),
      AWS_CONFIG_FILE: dir.path("none"),
      AWS_ACCESS_KEY_ID: "A",
      AWS_SECRET_ACCESS_KEY: "B",
      AWS_REGION: "ap-south-1",
    },
    home,
  });
  assertEquals([moved.credentials.accessKeyId, moved.region, moved.endpoint], [
    "A",
    "ap-south-1",
    undefined,
  ]);
  await assertRejects(
    () => resolveAwsSettings("o", { ...config, profile: "nope" }, { env: {}, home }),
    /remote 'o' names AWS profile 'nope'/,
  );
  await assertRejects(
    () => resolveAwsSettings("o", config, { env: {}, home: dir.path("nohome") }),
    /no AWS credentials for remote 'o'/,
  );
});

test("object keys use the cache's two-digit fan-out", () => {
  assertEquals(objectKey("0123456789abcdef"), "files/01/23456789abcdef");
  assertEquals(hashOfKey("files/01/23456789abcdef"), "0123456789abcdef");
  assertEquals(hashOfKey("files/01/23456789abcdef.1.2.tmp"), undefined);
  assertEquals([objectPrefix(""), objectPrefix("a"), objectPrefix("ab"), objectPrefix("abc")], [
    "files/",
    "files/a",
    "files/ab/",
    "files/ab/c",
  ]);
});

test("existence is learnt by the cheapest of listing and asking per object", () => {
  const hashes = (n: number) =>
    Array.from(
      { length: n },
      (_, i) => (i * 2654435761 % 2 ** 32).toString(16).padStart(8, "0") + "00000000",
    );
  // 10,000 unknown objects on a remote of 10,000: list everything (10 pages).
  assertEquals(choosePlan(hashes(10_000), 10_000, 1000), { method: "list", prefixDigits: 0 });
  // 3 unknown objects on a remote of ten million: ask for each.
  assertEquals(choosePlan(hashes(3), 10_000_000, 1000).method, "head");
  // 20,000 unknown on ten million: list by prefixes, in parallel.
  const plan = choosePlan(hashes(20_000), 10_000_000, 1000);
  assertEquals(plan.method, "list");
  assert(plan.prefixDigits >= 2);
});
