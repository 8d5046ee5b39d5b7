import { canonicalJson, hashBytes, hashFile, hashJson } from "../../lib/storage/hash.ts";
import { tempDir } from "../_project.ts";
import { assertEquals, assertNotEquals, assertRejects } from "../_assert.ts";
import { test } from "../_harness.ts";

const MiB = 1 << 20;

/** Deterministic, non-repeating-ish bytes, so chunk-boundary mistakes change the hash. */
function pattern(size: number): Uint8Array {
  const data = new Uint8Array(size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  return data;
}

/**
 * Digests of `pattern(size)` printed by `xxhsum -H64` 0.8.1 (Debian 12) on
 * 2026-11-23, so the check needs no xxhsum on the machine running the tests.
 */
const XXHSUM_DIGESTS: ReadonlyMap<number, string> = new Map([
  [0, "ef46db3751d8e999"],
  [1, "0c15fd28bfce2c7a"],
  [4 * MiB, "dbb5b8ce2bbd5fa4"],
  [4 * MiB + 1, "6cbffcc06d12d046"],
  [9 * MiB, "d4122b6aa4d4fb6a"],
]);

test("hashBytes gives the known xxhash64 of empty input and of 'a'", async () => {
  assertEquals(await hashBytes(""), "ef46db3751d8e999");
  assertEquals(await hashBytes("a"), "d24ec4f1a98c6e5b");
  assertEquals(await hashBytes(new Uint8Array([0x61])), "d24ec4f1a98c6e5b");
});

test("hashBytes hashes strings as UTF-8", async () => {
  assertEquals(await hashBytes("é"), await hashBytes(new Uint8Array([0xc3, 0xa9])));
});

test("hashFile matches hashBytes of the same content across chunk boundaries", async () => {
  await using dir = await tempDir();
  for (const size of [0, 1, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 9 * MiB]) {
    const data = pattern(size);
    const path = dir.path(`f${size}`);
    await Deno.writeFile(path, data);
    assertEquals(await hashFile(path), await hashBytes(data), `size ${size}`);
  }
});

test("hashFile agrees with xxhsum -H64 (empty, 1 byte, 4 MiB, 4 MiB+1, 9 MiB)", async () => {
  await using dir = await tempDir();
  for (const [size, digest] of XXHSUM_DIGESTS) {
    const path = dir.path(`f${size}`);
    await Deno.writeFile(path, pattern(size));
    assertEquals(await hashFile(path), digest, `size ${size}`);
  }
});

test("concurrent hashFile calls do not share buffers", async () => {
  await using dir = await tempDir();
  const sizes = [9 * MiB, 5 * MiB, 1, 4 * MiB + 7, 0, 6 * MiB];
  const expected: string[] = [];
  for (const [i, size] of sizes.entries()) {
    const data = pattern(size).map((b) => b ^ i);
    await Deno.writeFile(dir.path(`f${i}`), data);
    expected.push(await hashBytes(data));
  }
  const actual = await Promise.all(sizes.map((_, i) => hashFile(dir.path(`f${i}`))));
  assertEquals(actual, expected);
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
