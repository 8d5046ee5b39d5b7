import {
  interpolateDeep,
  pythonFloat,
  substitute,
  substituteParams,
  SubstitutionError,
  unboxFloats,
  YamlFloat,
} from "../../lib/pipeline/substitute.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";

test("substitute replaces every ${dim} in a path", () => {
  assertEquals(
    substitute("m/${model}_${data}.json", { model: "small", data: 2 }),
    "m/small_2.json",
  );
  assertEquals(substitute("plain.txt", {}), "plain.txt");
});

test("substitute keeps a whole-string variable's type only when typed", () => {
  assertEquals(substitute("${n}", { n: 5 }, true), 5);
  assertEquals(substitute("${n}", { n: 5 }), "5");
  assertEquals(substitute("${flag}x", { flag: true }, true), "truex");
});

test("substitute names an unknown variable, with a suggestion and the known ones", () => {
  const error = assertThrows(
    () => substitute("${modle}", { model: "a", data: "b" }),
    SubstitutionError,
  );
  assertEquals(
    error.message,
    `unknown variable '\${modle}' in "\${modle}": did you mean '\${model}'? (variables: model, data)`,
  );
  assertThrows(() => substitute("${x}", {}), /the stage has no matrix/);
});

test("substitute refuses an unterminated ${", () => {
  assertThrows(() => substitute("a/${model", { model: "x" }), /unterminated '\$\{'/);
});

test("substituteParams substitutes deeply and says which key failed", () => {
  assertEquals(
    substituteParams({ lr: "${lr}", opt: { tags: ["${m}", 3] } }, { lr: 0.1, m: "small" }),
    { lr: 0.1, opt: { tags: ["small", 3] } },
  );
  const error = assertThrows(
    () => substituteParams({ opt: { tags: ["${nope}"] } }, {}),
    SubstitutionError,
  );
  assertEquals(error.keys, ["opt", "tags", 0]);
});

// --- DVC's dialect (command stages) ---

const dvc = { dvc: true } as const;

test("DVC interpolation looks up nested keys and list items", () => {
  const context = { train: { lr: 0.1, layers: [64, 32] }, item: { model: "small" } };
  assertEquals(
    substitute("--lr ${train.lr} --first ${train.layers[0]} -m ${item.model}", context, dvc),
    "--lr 0.1 --first 64 -m small",
  );
  assertEquals(substitute("${train.layers.1}", context, dvc), "32");
});

test("DVC interpolation writes values as Python does", () => {
  const context = {
    one: new YamlFloat(1),
    tiny: new YamlFloat(0.00001),
    big: new YamlFloat(1e16),
    int: 7,
    yes: true,
    nothing: null,
  };
  assertEquals(
    substitute("${one} ${tiny} ${big} ${int} ${yes} ${nothing}", context, dvc),
    "1.0 1e-05 1e+16 7 true None",
  );
});

test("pythonFloat matches Python's repr", () => {
  const cases: [number, string][] = [
    [0.1, "0.1"],
    [1, "1.0"],
    [-2.5, "-2.5"],
    [0.0001, "0.0001"],
    [0.00012, "0.00012"],
    [1.5e-7, "1.5e-07"],
    [123456789.125, "123456789.125"],
    [1e22, "1e+22"],
    [1.2345678901234567e17, "1.2345678901234566e+17"],
    [0, "0.0"],
  ];
  for (const [value, text] of cases) assertEquals(pythonFloat(value), text, String(value));
});

test("a mapping in a command becomes flags, as DVC writes it", () => {
  const context = {
    args: { epochs: 3, verbose: true, quiet: false, name: "a b", tags: ["x", 1], opt: { lr: 0.5 } },
  };
  assertEquals(
    substitute("python train.py ${args}", context, { dvc: true, cmd: true }),
    "python train.py --epochs 3 --verbose --name 'a b' --tags x 1 --opt.lr 0.5",
  );
  assertThrows(
    () => substitute("data/${args}", context, dvc),
    /is a mapping, which cannot be written as text/,
  );
});

test("DVC interpolation keeps escaped and unterminated ${ as text", () => {
  assertEquals(substitute("echo \\${HOME} ${a}", { a: 1 }, dvc), "echo ${HOME} 1");
  assertEquals(substitute("echo ${a", { a: 1 }, dvc), "echo ${a");
});

test("a lone ${…} keeps its type; lists and mappings only where DVC takes them", () => {
  const context = { models: ["a", "b"], flag: false, lr: new YamlFloat(0.5) };
  assertEquals(substitute("${flag}", context, { dvc: true, typed: true }), false);
  assertEquals(substitute("${models}", context, { dvc: true, typed: true, composite: true }), [
    "a",
    "b",
  ]);
  assertThrows(
    () => substitute("${models}", context, { dvc: true, typed: true }),
    /is a list, which cannot be written as text/,
  );
  assertEquals(unboxFloats(substitute("${lr}", context, { dvc: true, typed: true })), 0.5);
});

test("an unknown nested key names what is there", () => {
  const error = assertThrows(
    () => substitute("${train.epocs}", { train: { epochs: 1, lr: 2 } }, dvc),
    SubstitutionError,
  );
  assertEquals(
    error.message,
    `unknown variable '\${train.epocs}' in "\${train.epocs}": 'train' has no 'epocs' (did you mean 'epochs'?) (keys: epochs, lr)`,
  );
  assertThrows(() => substitute("${nope}", {}, dvc), /define them in params\.yaml or 'vars'/);
});

test("interpolateDeep resolves keys and values, and says which one failed", () => {
  assertEquals(
    interpolateDeep({ "out/${name}.txt": { cache: "${flag}" } }, { name: "a", flag: false }, {}),
    { "out/a.txt": { cache: false } },
  );
  const error = assertThrows(() => interpolateDeep({ a: ["${x}"] }, {}, {}), SubstitutionError);
  assertEquals(error.keys, ["a", 0]);
});
