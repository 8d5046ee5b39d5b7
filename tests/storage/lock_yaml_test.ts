import { parse, stringify } from "yaml";
import { lockYaml } from "../../lib/storage/lock_yaml.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

/** What `writeLock` wrote before: `yaml`'s text. */
function reference(data: Record<string, unknown>): string {
  return stringify(data, { lineWidth: 0 });
}

/** A deterministic generator (xorshift), so a failure can be reproduced. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

test("lockYaml: a lock file's usual content is written as yaml writes it", () => {
  const data = {
    code_manifest: {
      "loader:a": "daf18938eb001093",
      "mod:lib/arith.ts#MODULUS": "ff1ca0b0af2b5b81",
      "self:run": "347a93fc7a0302c6",
    },
    deps: [
      { hash: "2a076ae1b7a63e16", path: "out/s3.txt" },
      { files: 2, hash: "4444444444444abc", path: "data/images", size: 2048 },
    ],
    outs: [{ hash: "4c051b7a923b8274", kind: "out", path: "out/s5.txt" }],
    params: { epochs: 3, flag: true, name: "resnet-50", none: null },
  };
  assertEquals(lockYaml(data), reference(data));
  assertEquals(
    lockYaml({ code_manifest: {}, deps: [], outs: [], params: {} }),
    reference({
      code_manifest: {},
      deps: [],
      outs: [],
      params: {},
    }),
  );
});

test("lockYaml: strings yaml would quote, floats and nested params are left to yaml", () => {
  const quoted = [
    "0x1f",
    "true",
    "Null",
    "yes",
    "",
    "a b",
    "a: b",
    "#x",
    "-x",
    "x:",
    "*ref",
    "'q'",
    "ü",
    ".inf",
  ];
  for (const text of quoted) {
    assertEquals(lockYaml({ params: { p: text } }), undefined, text);
    assertEquals(lockYaml({ code_manifest: { [text]: "ab" } }), undefined, text);
  }
  assertEquals(lockYaml({ params: { lr: 0.1 } }), undefined);
  assertEquals(lockYaml({ params: { nested: { a: 1 } } }), undefined);
  assertEquals(lockYaml({ params: { list: [1, 2] } }), undefined);
  assertEquals(lockYaml({ deps: [{ path: "a", extra: { b: 1 } }] }), undefined);
});

test("lockYaml: random lock files are written exactly as yaml writes them, or left to it", () => {
  const next = random(20261130);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  // Characters that make yaml quote, and ones that do not.
  const plain = [..."abcxyzAZ0123456789e.-_/:#@+"];
  const tricky = [..."abcxyz0123456789e.-_/:#@+ '\"!&*[]{},%`|>?~\\ü\t"];
  const word = (): string => {
    const alphabet = next() < 0.85 ? plain : tricky;
    const length = 1 + Math.floor(next() * 8);
    let text = "";
    for (let i = 0; i < length; i++) text += pick(alphabet);
    return text;
  };
  const hex = (): string => {
    let text = "";
    for (let i = 0; i < 16; i++) text += pick([..."0123456789abcdef", "e", "0"]);
    return text;
  };
  const value = (): unknown =>
    pick([
      hex,
      word,
      () => Math.floor(next() * 2000) - 1000,
      () => next() < 0.2 ? next() : 7,
      () => next() < 0.5,
      () => null,
      () => `out/${word()}.txt`,
    ])();
  const map = (size: number, scalarOnly = true): Record<string, unknown> => {
    const result: Record<string, unknown> = {};
    for (let i = 0; i < size; i++) {
      result[pick([word, () => `mod:lib/${word()}.ts#${word()}`, () => "path", () => "hash"])()] =
        scalarOnly || next() < 0.8 ? value() : { inner: value() };
    }
    return result;
  };
  let written = 0;
  const trials = 3000;
  for (let trial = 0; trial < trials; trial++) {
    const data = {
      code_manifest: map(Math.floor(next() * 5)),
      deps: Array.from({ length: Math.floor(next() * 3) }, () => map(1 + Math.floor(next() * 3))),
      outs: Array.from({ length: Math.floor(next() * 3) }, () => map(1 + Math.floor(next() * 3))),
      params: map(Math.floor(next() * 3), false),
    };
    const text = lockYaml(data);
    if (text === undefined) continue;
    written++;
    assertEquals(text, reference(data), JSON.stringify(data));
    assertEquals(parse(text), data, JSON.stringify(data));
  }
  // The fast path must be the common one, not an accident of the generator.
  assert(written > trials / 8, `only ${written} of ${trials} written without yaml`);
});

test("lockYaml: hashes are written as yaml writes them (digits-only and exponent-like ones quoted)", () => {
  for (const hash of ["1234567890123456", "12e4567890123456", "0123456789012345", "0e0", "9E99"]) {
    const data = { outs: [{ hash, kind: "out", path: "out/a.txt" }], params: { p: hash } };
    assertEquals(lockYaml(data), reference(data), hash);
    assertEquals(parse(lockYaml(data)!), data, hash);
  }
  const next = random(7);
  let quoted = 0;
  for (let i = 0; i < 20000; i++) {
    let hash = "";
    // Mostly digits, so that number-like hashes come up.
    for (let j = 0; j < 16; j++) {
      hash += next() < 0.8 ? String(Math.floor(next() * 10)) : "abcdef"[Math.floor(next() * 6)];
    }
    const data = { outs: [{ hash, kind: "out", path: "out/a.txt" }] };
    const text = lockYaml(data);
    assertEquals(text, reference(data), hash);
    if (text!.includes('"')) quoted++;
  }
  assert(quoted > 0 && quoted < 20000);
});
