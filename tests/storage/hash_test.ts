import {
  canonicalJson,
  hashBytes,
  hashBytesSync,
  hashFile,
  hashFileWith,
  hashJson,
  hashStream,
} from "../../lib/storage/hash.ts";
import { expectedOutput, OUTPUT } from "../../tools/build_wasm.ts";
import { tempDir } from "../_project.ts";
import { assert, assertEquals, assertNotEquals, assertRejects } from "../_assert.ts";
import { test } from "../_harness.ts";

const KiB = 1 << 10;
const MiB = 1 << 20;

let generated = new Uint8Array(0);

/**
 * Deterministic, non-repeating-ish bytes, so chunk-boundary mistakes change
 * the hash: `size` bytes from byte `from` of one xorshift stream (made once,
 * grown when a longer one is asked for), so that other `from`s give other
 * contents.
 */
function pattern(size: number, from = 0): Uint8Array {
  if (generated.length < from + size) {
    generated = new Uint8Array(from + size);
    let x = 0x9e3779b9;
    for (let i = 0; i < generated.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      generated[i] = x & 0xff;
    }
  }
  return generated.subarray(from, from + size);
}

/**
 * Digests of `pattern(size)` printed by `xxhsum -H64` 0.8.1 (Debian 12) on
 * 2026-11-23 and 2026-11-30, so the check needs no xxhsum on the machine
 * running the tests. The sizes straddle xxhash64's 32-byte stripes and its
 * 8/4/1-byte tails, hashFile's 256 KiB reads (and the old 4 MiB ones), and
 * its 8 MiB yields.
 */
const XXHSUM_DIGESTS: ReadonlyMap<number, string> = new Map([
  [0, "ef46db3751d8e999"],
  [1, "0c15fd28bfce2c7a"],
  [3, "267a2b0d5d610b12"],
  [4, "59ac592b470b94b5"],
  [7, "91af1a32f0b9d760"],
  [8, "700e97b48c10bdfc"],
  [31, "1f51f5799fa0395e"],
  [32, "c569bbfa5bb5e615"],
  [33, "833e6357ab0dfed7"],
  [63, "77690d55aecc10a3"],
  [64, "90c49715cbde2dec"],
  [65, "119b9d9063e2ec9b"],
  [100, "0e5e4ce6cfb9e551"],
  [256 * KiB - 1, "1d1abb98f54a214e"],
  [256 * KiB, "8b3b9b9542ec9c8c"],
  [256 * KiB + 1, "e889230f71d0151b"],
  [512 * KiB + 31, "e95e011405273ac7"],
  [1_000_003, "43ac0ddc33c41d94"],
  [MiB + 33, "a196d1e3360f2d20"],
  [3_141_593, "25d741e61751391b"],
  [4 * MiB, "dbb5b8ce2bbd5fa4"],
  [4 * MiB + 1, "6cbffcc06d12d046"],
  [9 * MiB, "d4122b6aa4d4fb6a"],
  [32 * MiB + 5, "657250d67741c9eb"],
]);

const M64 = (1n << 64n) - 1n;
const P1 = 0x9E3779B185EBCA87n;
const P2 = 0xC2B2AE3D27D4EB4Fn;
const P3 = 0x165667B19E3779F9n;
const P4 = 0x85EBCA77C2B2AE63n;
const P5 = 0x27D4EB2F165667C5n;

/**
 * XXH64 (seed 0) written from xxHash's specification with BigInt: slow, but
 * independent of the WebAssembly module it checks.
 */
function referenceXxhash64(data: Uint8Array): string {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const u64 = (at: number) => view.getBigUint64(at, true);
  const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M64;
  const round = (acc: bigint, lane: bigint) => (rotl((acc + lane * P2) & M64, 31n) * P1) & M64;
  const merge = (h: bigint, v: bigint) => (((h ^ round(0n, v)) * P1) + P4) & M64;
  let at = 0;
  let h: bigint;
  if (data.length >= 32) {
    const v = [(P1 + P2) & M64, P2, 0n, (0n - P1) & M64];
    for (; at + 32 <= data.length; at += 32) {
      for (let lane = 0; lane < 4; lane++) v[lane] = round(v[lane], u64(at + 8 * lane));
    }
    h = (rotl(v[0], 1n) + rotl(v[1], 7n) + rotl(v[2], 12n) + rotl(v[3], 18n)) & M64;
    for (const lane of v) h = merge(h, lane);
  } else {
    h = P5;
  }
  h = (h + BigInt(data.length)) & M64;
  for (; at + 8 <= data.length; at += 8) {
    h = ((rotl(h ^ round(0n, u64(at)), 27n) * P1) + P4) & M64;
  }
  if (at + 4 <= data.length) {
    h = ((rotl(h ^ ((BigInt(view.getUint32(at, true)) * P1) & M64), 23n) * P2) + P3) & M64;
    at += 4;
  }
  for (; at < data.length; at++) h = (rotl(h ^ ((BigInt(data[at]) * P5) & M64), 11n) * P1) & M64;
  h = ((h ^ (h >> 33n)) * P2) & M64;
  h = ((h ^ (h >> 29n)) * P3) & M64;
  return (h ^ (h >> 32n)).toString(16).padStart(16, "0");
}

test("hashBytes gives the known xxhash64 of empty input and of 'a'", async () => {
  assertEquals(await hashBytes(""), "ef46db3751d8e999");
  assertEquals(await hashBytes("a"), "d24ec4f1a98c6e5b");
  assertEquals(await hashBytes(new Uint8Array([0x61])), "d24ec4f1a98c6e5b");
});

test("hashBytes hashes strings as UTF-8", async () => {
  assertEquals(await hashBytes("é"), await hashBytes(new Uint8Array([0xc3, 0xa9])));
});

test("hashBytes equals a BigInt reference XXH64 at every size to 300 bytes and at random ones", () => {
  const sizes = [...Array(301).keys()];
  for (let i = 0; i < 40; i++) sizes.push(301 + Math.floor(Math.random() * 5000));
  for (const size of sizes) {
    const data = pattern(size, size & 0xff);
    assertEquals(hashBytesSync(data), referenceXxhash64(data), `size ${size}`);
  }
});

test("hashBytes of a string longer than one chunk equals the hash of its UTF-8", async () => {
  const text = "é…x".repeat(200_000); // 1.2 MB of UTF-8, more than 256 KiB / 3 units
  const bytes = new TextEncoder().encode(text);
  assertEquals(await hashBytes(text), await hashBytes(bytes));
  assertEquals(await hashBytes(text), referenceXxhash64(bytes));
});

test("hashStream gives hashBytes' digest however the bytes are split", async () => {
  for (const size of [0, 1, 31, 32, 33, 100, 4096, 300 * KiB, 600 * KiB + 7]) {
    const data = pattern(size);
    for (let trial = 0; trial < 4; trial++) {
      const hasher = await hashStream();
      for (let at = 0; at < size;) {
        // Mostly small pieces (held across updates), now and then a big one.
        const step = trial === 0
          ? size
          : Math.random() < 0.1
          ? Math.floor(Math.random() * 300 * KiB)
          : 1 + Math.floor(Math.random() * 70);
        hasher.update(data.subarray(at, at + step));
        at += step;
      }
      assertEquals(hasher.digest(), await hashBytes(data), `size ${size}, trial ${trial}`);
    }
  }
});

test("hashStream refuses use after digest, and release is idempotent", async () => {
  const hasher = await hashStream();
  hasher.update(new Uint8Array([0x61]));
  assertEquals(hasher.digest(), "d24ec4f1a98c6e5b");
  let threw = false;
  try {
    hasher.update(new Uint8Array(1));
  } catch {
    threw = true;
  }
  assert(threw, "update after digest must throw");
  hasher.release();
  const other = await hashStream();
  other.release();
  other.release();
  assertEquals(await hashBytes("a"), "d24ec4f1a98c6e5b");
});

test("hashFile matches hashBytes of the same content across chunk boundaries", async () => {
  await using dir = await tempDir();
  for (
    const size of [0, 1, 256 * KiB - 1, 256 * KiB + 1, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 9 * MiB]
  ) {
    const data = pattern(size);
    const path = dir.path(`f${size}`);
    await Deno.writeFile(path, data);
    assertEquals(await hashFile(path), await hashBytes(data), `size ${size}`);
  }
});

test("hashFile and hashBytes agree with xxhsum -H64 from 0 bytes to 32 MiB", async () => {
  await using dir = await tempDir();
  for (const [size, digest] of XXHSUM_DIGESTS) {
    const path = dir.path(`f${size}`);
    await Deno.writeFile(path, pattern(size));
    assertEquals(await hashFile(path), digest, `size ${size}`);
    if (size <= MiB) assertEquals(await hashBytes(pattern(size)), digest, `size ${size}`);
  }
});

test("a long hashFile lets timers run meanwhile (it yields to the event loop)", async () => {
  await using dir = await tempDir();
  // Yields every 8 MiB: seven turns of the event loop, each a few ms apart.
  await Deno.writeFile(dir.path("big"), pattern(64 * MiB));
  let fired = false;
  setTimeout(() => fired = true, 0);
  const hash = await hashFile(dir.path("big"));
  assert(fired, "a timer due before the hash started must fire before it ends");
  assertEquals(hash, await hashBytes(pattern(64 * MiB)));
});

test("concurrent hashFile calls that yield midway keep their own state", async () => {
  await using dir = await tempDir();
  const sizes = [20 * MiB + 3, 9 * MiB + 17, 5];
  const expected: string[] = [];
  for (const [i, size] of sizes.entries()) {
    const data = pattern(size, 4099 * (i + 1));
    await Deno.writeFile(dir.path(`f${i}`), data);
    expected.push(await hashBytes(data));
  }
  const streamed = await hashStream();
  const during = Promise.all(sizes.map((_, i) => hashFile(dir.path(`f${i}`))));
  streamed.update(pattern(1000));
  assertEquals(await during, expected);
  assertEquals(streamed.digest(), await hashBytes(pattern(1000)));
});

test("concurrent hashFile calls do not share buffers", async () => {
  await using dir = await tempDir();
  const sizes = [9 * MiB, 5 * MiB, 1, 4 * MiB + 7, 0, 6 * MiB];
  const expected: string[] = [];
  for (const [i, size] of sizes.entries()) {
    const data = pattern(size, 4099 * i);
    await Deno.writeFile(dir.path(`f${i}`), data);
    expected.push(await hashBytes(data));
  }
  const actual = await Promise.all(sizes.map((_, i) => hashFile(dir.path(`f${i}`))));
  assertEquals(actual, expected);
});

// Every file read ahead (async 2 MiB reads into alternate halves), however small.
const AHEAD = { aheadFrom: 0 };
// Every file read synchronously, however big.
const ALONE = { aheadFrom: Infinity };

test("a file read ahead has the same hash as read synchronously, at sizes around its 2 MiB reads", async () => {
  await using dir = await tempDir();
  const sizes = [0, 1, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1, 4 * MiB, 4 * MiB + 1, 20 * MiB + 12_345];
  for (const size of sizes) {
    const data = pattern(size, size & 0xff);
    await Deno.writeFile(dir.path("f"), data);
    const expected = await hashBytes(data);
    assertEquals(await hashFileWith(dir.path("f"), AHEAD), expected, `size ${size}`);
    assertEquals(await hashFileWith(dir.path("f"), ALONE), expected, `size ${size}`);
  }
});

test("concurrent read-ahead hashes keep their own state and buffers", async () => {
  await using dir = await tempDir();
  const sizes = [30 * MiB + 7, 17 * MiB + 1, 12 * MiB, 3];
  const expected: string[] = [];
  for (const [i, size] of sizes.entries()) {
    const data = pattern(size, 4099 * (i + 7));
    await Deno.writeFile(dir.path(`f${i}`), data);
    expected.push(await hashBytes(data));
  }
  const during = Promise.all([
    ...sizes.map((_, i) => hashFileWith(dir.path(`f${i}`), AHEAD)),
    ...sizes.map((_, i) => hashFileWith(dir.path(`f${i}`), ALONE)),
  ]);
  // Hashers taken meanwhile (their memory is another's) hash right too.
  const small = await Promise.all([hashBytes(pattern(5000, 3)), hashBytes("x".repeat(300_000))]);
  assertEquals(await during, [...expected, ...expected]);
  assertEquals(small, [await hashBytes(pattern(5000, 3)), await hashBytes("x".repeat(300_000))]);
});

test("a read-ahead hash whose read fails rejects, and leaves later hashes right", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.path("sub"));
  // A directory opens, and its first read fails (EISDIR).
  await assertRejects(() => hashFileWith(dir.path("sub"), AHEAD));
  const data = pattern(9 * MiB + 5, 77);
  await Deno.writeFile(dir.path("f"), data);
  const hashes = await Promise.all([1, 2, 3].map(() => hashFileWith(dir.path("f"), AHEAD)));
  assertEquals(hashes, Array(3).fill(await hashBytes(data)));
});

test("a file cut short while it is read ahead is hashed to where its reads ended", async () => {
  await using dir = await tempDir();
  const data = pattern(24 * MiB, 11);
  await Deno.writeFile(dir.path("f"), data);
  const hashing = hashFileWith(dir.path("f"), AHEAD);
  // The first read is in flight: truncation shows in a later read, which ends the file there.
  await Deno.truncate(dir.path("f"), 3 * MiB);
  const hash = await hashing;
  // Cut before a read reached 3 MiB: there; after: where the reads done by then ended.
  const candidates = new Set([await hashBytes(data.subarray(0, 3 * MiB))]);
  for (let end = 2 * MiB; end <= 24 * MiB; end += 2 * MiB) {
    candidates.add(await hashBytes(data.subarray(0, end)));
  }
  assert(candidates.has(hash), "the hash of a prefix of the file, at a read's end");
  assertEquals(
    await hashFileWith(dir.path("f"), AHEAD),
    await hashBytes(data.subarray(0, 3 * MiB)),
  );
});

test("hashFile of a missing file rejects with NotFound", async () => {
  await using dir = await tempDir();
  await assertRejects(() => hashFile(dir.path("missing")), Deno.errors.NotFound);
});

test("hashFile after a failed hash still gives correct hashes", async () => {
  await using dir = await tempDir();
  await assertRejects(() => hashFile(dir.path("missing")));
  await Deno.writeTextFile(dir.path("a"), "a");
  assertEquals(await hashFile(dir.path("a")), "d24ec4f1a98c6e5b");
});

test("the committed WebAssembly module is compiled from xxhash64.wat (deno task wasm)", async () => {
  assertEquals(await Deno.readTextFile(OUTPUT), await expectedOutput());
});

test("canonicalJson sorts object keys at every level and keeps array order", () => {
  assertEquals(
    canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }),
    '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
  );
});

test("hashJson is independent of key insertion order", async () => {
  assertEquals(await hashJson({ a: 1, b: [1, 2] }), await hashJson({ b: [1, 2], a: 1 }));
  assertNotEquals(await hashJson({ b: [1, 2] }), await hashJson({ b: [2, 1] }));
});
