/**
 * `pivot remote` and `pivot config` on real projects: what they write (comments
 * kept), what they refuse (one line, exit 2, nothing written), and the
 * git-ignored local file.
 */

import { assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { TempProject } from "../_project.ts";
import { startS3rver } from "../remote/_s3rver.ts";

async function ok(p: TempProject, ...args: string[]): Promise<string> {
  const result = await p.pivot(...args);
  assertEquals(result.code, 0, `pivot ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

async function refused(p: TempProject, message: RegExp, ...args: string[]): Promise<void> {
  const before = await Promise.all(
    [".pivot/config.yaml", ".pivot/config.local.yaml"].map((f) => p.read(f).catch(() => undefined)),
  );
  const result = await p.pivot(...args);
  assertEquals(result.code, 2, `pivot ${args.join(" ")}: ${result.stderr}`);
  assertEquals(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
  assertMatch(result.stderr, message);
  const after = await Promise.all(
    [".pivot/config.yaml", ".pivot/config.local.yaml"].map((f) => p.read(f).catch(() => undefined)),
  );
  assertEquals(after, before, "nothing was written");
}

test("remote add, list, default and remove; config.yaml keeps its comments", async () => {
  await using p = await TempProject.create({});
  assertMatch(await ok(p, "remote", "list"), /^No remotes: add one with 'pivot remote add/);
  assertMatch(
    await ok(p, "remote", "add", "origin", "s3://team-bucket/pivot", "-d"),
    /^Added remote 'origin' \(s3:\/\/team-bucket\/pivot\) in \.pivot\/config\.yaml, the default$/m,
  );
  await ok(p, "remote", "add", "share", "../share");
  assertEquals(
    await ok(p, "remote", "list"),
    "origin  s3://team-bucket/pivot  (default)\nshare   ../share\n",
  );
  const config = await p.read(".pivot/config.yaml");
  assertMatch(config, /^# yaml-language-server: \$schema=/);
  assertMatch(config, /^# Pivot's project settings, tracked in git/m);
  assertEquals(await ok(p, "remote", "default"), "origin\n");
  await ok(p, "remote", "default", "share");
  assertEquals(await ok(p, "remote", "default"), "share\n");
  assertEquals(JSON.parse(await ok(p, "remote", "list", "--json")), {
    remotes: [
      { name: "origin", url: "s3://team-bucket/pivot", default: false },
      { name: "share", url: "../share", default: true },
    ],
    default: "share",
  });

  await refused(
    p,
    /^error: remote 'origin' exists \(s3:\/\/team-bucket\/pivot\): use --force/,
    "remote",
    "add",
    "origin",
    "/x",
  );
  await ok(p, "remote", "add", "origin", "s3://team-bucket/v2", "--force");
  assertEquals(await ok(p, "config", "get", "remotes.origin.url"), "s3://team-bucket/v2\n");
  await refused(
    p,
    /remotes\.bad\.url: unsupported URL scheme 'gs:\/\/'/,
    "remote",
    "add",
    "bad",
    "gs://b",
  );
  await refused(p, /not a valid bucket name/, "remote", "add", "bad", "s3://Bad_Bucket");
  await refused(
    p,
    /core\.remote is 'nope', which is not a remote \(remotes: origin, share\)/,
    "remote",
    "default",
    "nope",
  );
  await refused(p, /remote name 'a b' may use only letters/, "remote", "add", "a b", "/x");

  // Removing the default remote unsets core.remote, and its credentials go too.
  await ok(p, "config", "set", "remotes.share.jobs", "3", "--local");
  await ok(p, "remote", "remove", "share");
  assertEquals(await ok(p, "remote", "list"), "origin  s3://team-bucket/v2\n");
  assertEquals((await p.pivot("remote", "default")).code, 1);
  assertEquals(await p.read(".pivot/config.local.yaml"), "");
  await refused(p, /no remote named 'share' \(origin\)/, "remote", "remove", "share");
});

test("config get, set, unset and list, with --local; bad keys and values are one line", async () => {
  await using p = await TempProject.create({});
  await p.initGit();
  await ok(p, "config", "set", "core.jobs", "3");
  await ok(p, "config", "set", "cache.type", "copy");
  await ok(p, "remote", "add", "origin", "s3://bucket/p");
  await ok(p, "config", "set", "remotes.origin.endpoint", "http://127.0.0.1:9000");
  await ok(p, "config", "set", "remotes.origin.region", "1234");
  await ok(p, "config", "set", "remotes.origin.access_key_id", "AKID", "--local");
  await ok(p, "config", "set", "remotes.origin.secret_access_key", "s3cr3t", "--local");
  await ok(p, "config", "set", "core.jobs", "5", "--local");

  assertEquals(await ok(p, "config", "get", "core.jobs"), "5\n", "the local file wins");
  assertEquals(await ok(p, "config", "get", "core.jobs", "--local"), "5\n");
  assertEquals(await ok(p, "config", "get", "remotes.origin.region"), "1234\n");
  assertEquals(await ok(p, "config", "get", "remotes.origin.secret_access_key"), "s3cr3t\n");
  assertEquals((await p.pivot("config", "get", "core.remote")).code, 1, "unset: exit 1");
  assertEquals(JSON.parse(await ok(p, "config", "list", "--json")), {
    "core.jobs": 5,
    "cache.type": "copy",
    "remotes.origin.url": "s3://bucket/p",
    "remotes.origin.endpoint": "http://127.0.0.1:9000",
    "remotes.origin.region": "1234",
    "remotes.origin.access_key_id": "AKID",
    "remotes.origin.secret_access_key": "****",
  });
  assertMatch(
    await ok(p, "config", "list", "--show-origin", "--local"),
    /^\.pivot\/config\.local\.yaml\tremotes\.origin\.secret_access_key=\*\*\*\*$/m,
  );

  // The local file never reaches git.
  await p.commitAll();
  assertEquals(await p.git("ls-files", ".pivot"), ".pivot/.gitignore\n.pivot/config.yaml".trim());

  await refused(
    p,
    /^error: \.pivot\/config\.yaml: core\.jobs must be a positive integer, got a string \("four"\); nothing was written\n$/,
    "config",
    "set",
    "core.jobs",
    "four",
  );
  await refused(
    p,
    /core\.jbos is not a setting: did you mean core\.jobs\?/,
    "config",
    "set",
    "core.jbos",
    "3",
  );
  await refused(p, /cache\.type must be one of/, "config", "set", "cache.type", "reflnk");
  await refused(
    p,
    /remotes\.origin\.colour is not a setting/,
    "config",
    "set",
    "remotes.origin.colour",
    "red",
  );
  await refused(p, /remotes\.origin has no url/, "config", "unset", "remotes.origin.url");
  await refused(
    p,
    /core\.remote is not set in \.pivot\/config\.yaml\n$/,
    "config",
    "unset",
    "core.remote",
  );
  await refused(p, /config: unknown subcommand 'show'/, "config", "show");
  await refused(
    p,
    /config set: expected KEY VALUE, got 'core\.jobs'/,
    "config",
    "set",
    "core.jobs",
  );

  await ok(p, "config", "unset", "core.jobs", "--local");
  assertEquals(await ok(p, "config", "get", "core.jobs"), "3\n");
});

test("a broken config file is named by config and remote commands, and not edited", async () => {
  await using p = await TempProject.create({});
  await p.write(".pivot/config.yaml", "core:\n  jobs: [1\n");
  await refused(p, /^error: \.pivot\/config\.yaml:\d+: /, "config", "set", "core.jobs", "2");
  await refused(p, /^error: \.pivot\/config\.yaml:\d+: /, "remote", "add", "x", "/x");
});

test("doctor probes an S3 remote with one bounded listing", { timeLimit: 180_000 }, async () => {
  await using server = await startS3rver("pivot-doctor");
  await using p = await TempProject.create({});
  await ok(p, "remote", "add", "origin", "s3://pivot-doctor/p", "-d");
  await ok(p, "config", "set", "remotes.origin.endpoint", server.endpoint);
  await ok(p, "config", "set", "remotes.origin.access_key_id", "S3RVER", "--local");
  await ok(p, "config", "set", "remotes.origin.secret_access_key", "S3RVER", "--local");
  await ok(p, "remote", "add", "missing", "s3://no-such-bucket/p");
  await ok(p, "config", "set", "remotes.missing.endpoint", server.endpoint);
  await ok(p, "config", "set", "remotes.missing.access_key_id", "S3RVER", "--local");
  await ok(p, "config", "set", "remotes.missing.secret_access_key", "S3RVER", "--local");
  const report = JSON.parse(await ok(p, "doctor", "--json"));
  const byName = Object.fromEntries(
    report.remotes.map((r: { name: string }) => [r.name, r]),
  );
  assertEquals(byName.origin.reachable.status, "ok", byName.origin.reachable.detail);
  assertEquals(byName.missing.reachable.status, "failed");
  assertMatch(byName.missing.reachable.detail, /no-such-bucket/);
});
