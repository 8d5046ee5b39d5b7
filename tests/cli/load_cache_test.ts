/**
 * The load cache's encoding (lib/cli/load_cache.ts): stages come back exactly
 * as a load made them (key order, keys whose value is undefined, shared
 * objects), paths under the project root included, and what JSON cannot
 * keep exactly makes the pipeline ineligible rather than coming back changed.
 */

import { roundTrip } from "../../lib/cli/load_cache.ts";
import {
  fingerprintsFromSnapshot,
  fingerprintSnapshot,
  type StageFingerprint,
} from "../../lib/fingerprint/fingerprint.ts";
import type { StageDef } from "../../lib/model/stage_def.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";

/** Both ways of decoding: every skeleton compiled, and none. */
const DECODERS = [1, Infinity];

test("plain data comes back with its key order, undefined keys and shared objects", () => {
  for (const compileFrom of DECODERS) plainData(compileFrom);
});

function plainData(compileFrom: number) {
  const pipeline = { name: "p", file: "/project/pipeline.ts", dir: "/project" };
  const permissions = { read: [], net: false };
  const stage = (name: string) => ({
    name,
    variant: undefined,
    pipeline,
    deps: [{ name: "a", path: "data/a.txt", abs: "/project/data/a.txt", loader: undefined }],
    params: { z: 1, a: [1.5, "x", null, true], nested: { "0": "zero", b: -1 } },
    permissions,
    code: { moduleUrl: "file:///project/pipeline.ts", site: { url: "file:///elsewhere.ts" } },
  });
  const stages = [stage("s0"), stage("s1")];
  const back = roundTrip(stages, "/project", compileFrom) as ReturnType<typeof stage>[];
  assertEquals(back, stages);
  assertEquals(Object.keys(back[0]), Object.keys(stages[0]));
  assert("variant" in back[0] && back[0].variant === undefined);
  assert("loader" in back[0].deps[0]);
  assertEquals(Object.keys(back[0].params), Object.keys(stages[0].params));
  assert(back[0].pipeline === back[1].pipeline, "a shared ref stays shared");
  assert(back[0].permissions === back[1].permissions);
  assert(back[0].deps !== back[1].deps, "equal but distinct objects stay distinct");
  assertEquals(back[0].deps[0].abs, "/project/data/a.txt");
  assertEquals(back[0].code.moduleUrl, "file:///project/pipeline.ts");
}

test("what JSON would not give back as it is is refused", () => {
  const refused: [string, unknown][] = [
    ["NaN", { n: NaN }],
    ["Infinity", { n: Infinity }],
    ["-0", { n: -0 }],
    ["a function", { run: () => 0 }],
    ["a class instance", { when: new Map() }],
    ["a bigint", { n: 1n }],
    ["a symbol", { s: Symbol("x") }],
    ["a sparse array", { a: [1, , 3] }],
    ["an undefined item", { a: [undefined] }],
    ["an accessor", Object.defineProperty({}, "x", { get: () => 1, enumerable: true })],
    ["a '__proto__' key", JSON.parse('{"__proto__": 1}')],
  ];
  for (const [what, value] of refused) {
    let threw = false;
    try {
      roundTrip([value]);
    } catch {
      threw = true;
    }
    assert(threw, `${what} was not refused`);
  }
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assertThrows(() => roundTrip([cycle]), /cycle/);
});

test("strings of every kind come back as they were", () => {
  const strings = [
    "",
    "=",
    "/",
    ":",
    "=x",
    "/x",
    ":x",
    "\ue000x",
    "\ue001x",
    "/project",
    "/project/",
    "/project/a b/é.txt",
    "/projects/x",
    "file:///project",
    "file:///project/",
    "file:///project/lib/a.ts",
    "file:///elsewhere/a.ts",
    "relative/path.txt",
  ];
  for (const compileFrom of DECODERS) {
    const back = roundTrip([{ strings }, strings], "/project", compileFrom) as [
      { strings: string[] },
      string[],
    ];
    assertEquals(back[0].strings, strings);
    assertEquals(back[1], strings);
    assert(back[0].strings === back[1], "one array met twice stays one");
  }
});

test("items of many structures, with objects shared across and within them", () => {
  const shared = { kind: "text", options: {} };
  const frozenEmpty: never[] = [];
  const items: unknown[] = [];
  for (let i = 0; i < 50; i++) {
    items.push({
      name: `s${i}`,
      deps: i % 3 === 0 ? [{ path: `d${i}`, loader: shared }] : [],
      mutex: frozenEmpty,
      // The same in every item of a structure: kept once, in the structure.
      kind: "stage",
      version: 3,
      on: true,
      off: null,
      n: i % 2 === 0 ? i : `${i}`,
      flag: i % 5 === 0 ? null : i % 5 === 1,
    });
  }
  // An item met twice at the top, and an object first met deep inside an item.
  items.push(items[3], { inner: { deeper: shared } });
  // Compiled and walked skeletons mixed (a skeleton of 12 items and one of 1), and each alone.
  for (const compileFrom of [...DECODERS, 4]) {
    const back = roundTrip(items, "/project", compileFrom) as typeof items;
    assertEquals(back, items);
    assert(back[50] === back[3], "an item met twice stays one");
    const first = back[0] as { deps: { loader: unknown }[]; mutex: unknown };
    assert(first.deps[0].loader === (back[51] as { inner: { deeper: unknown } }).inner.deeper);
    assert(first.mutex === (back[1] as { mutex: unknown }).mutex);
    assert(back[0] !== back[1]);
  }
});

test("an array holding itself is a cycle", () => {
  const list: unknown[] = [];
  list.push([list]);
  assertThrows(() => roundTrip(list), /cycle/);
  const top: unknown[] = [1];
  top.push(top);
  assertThrows(() => roundTrip(top), /cycle/);
});

test("fingerprints are kept only when every module the stages' code is in is covered", () => {
  const stage = (name: string, url: string) =>
    ({
      name,
      deps: [],
      outs: [],
      code: { kind: "registered", moduleUrl: url, site: { url, line: 3, column: 1 } },
    }) as unknown as StageDef;
  const fingerprint = (line: number): StageFingerprint => ({
    manifest: { "self:run": "0123456789abcdef" },
    locations: { "self:run": { file: "pipeline.ts", line } },
    files: ["pipeline.ts"],
  });
  const stages = [
    stage("a", "file:///project/pipeline.ts"),
    stage("b", "file:///project/lib/more.ts"),
  ];
  const fingerprints = new Map([["a", fingerprint(3)], ["b", fingerprint(9)]]);
  const both = new Set(["/project/pipeline.ts", "/project/lib/more.ts"]);
  assertEquals(
    fingerprintSnapshot(stages, fingerprints, new Set(["/project/pipeline.ts"])),
    undefined,
  );
  assertEquals(fingerprintSnapshot(stages, new Map([["a", fingerprint(3)]]), both), undefined);
  const kept = JSON.parse(JSON.stringify(fingerprintSnapshot(stages, fingerprints, both)));
  // In the graph's order, by declaration index.
  const back = fingerprintsFromSnapshot(stages, [1, 0], kept);
  assertEquals([...back.keys()], ["b", "a"]);
  for (const [name, { manifest, locations, files }] of back) {
    const was = fingerprints.get(name)!;
    assertEquals({ manifest, locations, files }, { ...was });
  }
  assertThrows(() => fingerprintsFromSnapshot(stages.slice(1), [0], kept));
  assertThrows(() => fingerprintsFromSnapshot(stages, [0, 0], kept));
});
