import { parse } from "csv-parse/sync";
import {
  diffDirectories,
  diffRows,
  type ModifiedRow,
  type Row,
  type RowFormat,
} from "../../lib/outputs/data_diff.ts";
import { openTable } from "../../lib/outputs/_records.ts";
import { PivotError } from "../../lib/errors.ts";
import { assertEquals, assertRejects } from "../_assert.ts";
import { test } from "../_harness.ts";
import { tempDir } from "../_project.ts";

function source(label: string, text: string) {
  const bytes = new TextEncoder().encode(text);
  return {
    label,
    size: bytes.length,
    open: () =>
      Promise.resolve(
        new ReadableStream<Uint8Array>({
          start(controller) {
            // Small chunks: records and characters split across them must be joined.
            for (let at = 0; at < bytes.length; at += 7) {
              controller.enqueue(bytes.slice(at, at + 7));
            }
            controller.close();
          },
        }),
      ),
  };
}

async function diff(
  oldText: string,
  newText: string,
  options: {
    format?: RowFormat;
    key?: string[];
    partitionBytes?: number;
    onPartition?: () => void;
  } = {},
) {
  await using dir = await tempDir();
  const found = {
    added: [] as Row[],
    removed: [] as Row[],
    modified: [] as ModifiedRow[],
  };
  const summary = await diffRows(
    source("old.csv", oldText),
    source("new.csv", newText),
    {
      format: options.format ?? "csv",
      key: options.key,
      tmpDir: dir.root,
      partitionBytes: options.partitionBytes,
      onPartition: options.onPartition,
    },
    {
      added: (row) => void found.added.push(row),
      removed: (row) => void found.removed.push(row),
      modified: (row) => void found.modified.push(row),
    },
  );
  return { ...found, summary };
}

test("rows matched by key: added, removed, and modified rows with only their changed columns", async () => {
  const result = await diff(
    "id,name,score\n1,a,0.5\n2,b,0.6\n3,c,0.7\n",
    "id,name,score\n3,c,0.9\n1,a,0.5\n4,d,0.1\n",
    { key: ["id"] },
  );
  assertEquals(result.added, [{ id: "4", name: "d", score: "0.1" }]);
  assertEquals(result.removed, [{ id: "2", name: "b", score: "0.6" }]);
  assertEquals(result.modified, [{ key: { id: "3" }, changes: { score: ["0.7", "0.9"] } }]);
  assertEquals(
    [
      result.summary.added,
      result.summary.removed,
      result.summary.modified,
      result.summary.unchanged,
    ],
    [1, 1, 1, 1],
  );
});

test("quoted fields with delimiters, quotes and line breaks are parsed by the CSV parser", async () => {
  const old = 'id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,plain\n';
  const current = 'id,text\n1,"a, b"\n2,"say ""bye"""\n3,"two\nlines!"\n4,"plain"\n';
  const result = await diff(old, current, { key: ["id"] });
  assertEquals(result.modified, [
    { key: { id: "2" }, changes: { text: ['say "hi"', 'say "bye"'] } },
    { key: { id: "3" }, changes: { text: ["two\nlines", "two\nlines!"] } },
  ]);
  // "plain" and plain are the same value: different text, same row.
  assertEquals(result.summary.unchanged, 2);
});

test("the quick split of unquoted records agrees with csv-parse", async () => {
  const records = ["a,b,c", ",,", "1,,3", "x y,\tz,", "é,ü,漢字", "a;b,c|d,e'f"];
  const text = "h1,h2,h3\n" + records.join("\n") + "\n";
  const table = await openTable(await source("t.csv", text).open(), "csv", "t.csv");
  const rows: Row[] = [];
  for (let batch = await table.next(); batch; batch = await table.next()) {
    rows.push(...await table.rows(batch.raw, batch.lines));
  }
  const expected = parse(text, { columns: true }) as Row[];
  assertEquals(rows, expected);
});

test("CRLF line ends, a byte-order mark and blank lines do not make rows differ", async () => {
  const result = await diff("\uFEFFid,v\r\n1,x\r\n\r\n2,y\r\n", "id,v\n1,x\n2,z\n", {
    key: ["id"],
  });
  assertEquals(result.modified, [{ key: { id: "2" }, changes: { v: ["y", "z"] } }]);
  assertEquals(result.summary.unchanged, 1);
});

test("by key, tables in another order go on in partitions, with the same result as in memory", async () => {
  const rows = (n: number, edit: (i: number) => string) =>
    Array.from({ length: n }, (_, i) => `${i},${edit(i)}`);
  const old = "id,v\n" + rows(3000, (i) => `v${i}`).join("\n") + "\n";
  // The new table in another order (every 7th row from each offset), some rows changed,
  // one removed (5), 100 added.
  const edited = rows(3100, (i) => (i % 97 === 0 ? `changed${i}` : `v${i}`))
    .filter((row) => row !== "5,v5");
  const shuffled = Array.from({ length: 7 }, (_, k) => edited.filter((_, i) => i % 7 === k))
    .flat();
  const current = "id,v\n" + shuffled.join("\n") + "\n";
  let partitioned = 0;
  const inMemory = await diff(old, current, {
    key: ["id"],
    onPartition: () => partitioned++,
  });
  assertEquals(partitioned, 0);
  const split = await diff(old, current, {
    key: ["id"],
    partitionBytes: 2_000,
    onPartition: () => partitioned++,
  });
  assertEquals(partitioned, 1);
  const sortBy = <T>(items: T[]) => items.map((item) => JSON.stringify(item)).sort();
  assertEquals(sortBy(split.added), sortBy(inMemory.added));
  assertEquals(sortBy(split.removed), sortBy(inMemory.removed));
  assertEquals(sortBy(split.modified), sortBy(inMemory.modified));
  assertEquals(split.summary, inMemory.summary);
  assertEquals(inMemory.summary.added, 100);
  assertEquals(inMemory.removed, [{ id: "5", v: "v5" }]);
  assertEquals(inMemory.summary.modified, 31);
  assertEquals(inMemory.summary.unchanged, 3000 - 1 - 31);
});

test("by key, tables in the same order stream past without partitions, however large", async () => {
  const rows = (n: number, edit: (i: number) => string) =>
    "id,v\n" + Array.from({ length: n }, (_, i) => `${i},${edit(i)}`).join("\n") + "\n";
  const old = rows(3000, (i) => `v${i}`);
  // Rows removed here and there, and some inserted, shift every later row: still no partitions.
  const current = rows(3100, (i) => (i % 97 === 0 ? `changed${i}` : `v${i}`))
    .replace("\n5,v5\n", "\n").replace("\n2000,v2000\n", "\nx1,new\nx2,new\n");
  let partitioned = 0;
  const result = await diff(old, current, {
    key: ["id"],
    partitionBytes: 2_000,
    onPartition: () => partitioned++,
  });
  assertEquals(partitioned, 0);
  assertEquals(result.removed, [{ id: "5", v: "v5" }, { id: "2000", v: "v2000" }]);
  assertEquals(result.added.length, 102);
  assertEquals(result.added.slice(0, 2), [{ id: "x1", v: "new" }, { id: "x2", v: "new" }]);
  assertEquals(result.summary.modified, 31);
  assertEquals(result.modified[0], { key: { id: "0" }, changes: { v: ["v0", "changed0"] } });
});

test("by key, rows sharing a key are matched in order while others wait", async () => {
  const result = await diff(
    "k,v\nb,1\na,1\na,2\nc,1\n",
    "k,v\na,1\nc,2\na,3\nb,1\na,4\n",
    { key: ["k"] },
  );
  assertEquals(result.modified, [
    { key: { k: "c" }, changes: { v: ["1", "2"] } },
    { key: { k: "a" }, changes: { v: ["2", "3"] } },
  ]);
  assertEquals(result.added, [{ k: "a", v: "4" }]);
  assertEquals(result.removed, []);
  assertEquals(result.summary.unchanged, 2);
});

test("by key, streamed or partitioned, the diff is what matching every key in order gives", async () => {
  // Random tables (seeded): duplicate keys, rows moved, changed, removed and added.
  let seed = 7;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let round = 0; round < 6; round++) {
    const old = Array.from({ length: 300 }, (_, i) => [`k${random(200)}`, `v${i}`]);
    const current = old.filter(() => random(20) !== 0).map(([k, v]) =>
      random(10) === 0 ? [k, `${v}x`] : [k, v]
    );
    for (let i = 0; i < 15; i++) {
      current.splice(random(current.length), 0, [`n${random(50)}`, "new"]);
    }
    for (let i = 0; i < round * 10; i++) {
      const from = random(current.length);
      const [row] = current.splice(from, 1);
      current.splice(random(current.length), 0, row);
    }
    const text = (rows: string[][]) => "k,v\n" + rows.map((row) => row.join(",")).join("\n") + "\n";
    // The reference: the i-th old row with a key matches the i-th new row with that key.
    const queues = new Map<string, string[][]>();
    for (const row of old) queues.set(row[0], [...(queues.get(row[0]) ?? []), row]);
    const expected = { added: [] as Row[], modified: [] as ModifiedRow[], unchanged: 0 };
    for (const [k, v] of current) {
      const match = queues.get(k)?.shift();
      if (match === undefined) expected.added.push({ k, v });
      else if (match[1] === v) expected.unchanged++;
      else expected.modified.push({ key: { k }, changes: { v: [match[1], v] } });
    }
    const removed = old.filter((row) => queues.get(row[0])!.includes(row))
      .map(([k, v]) => ({ k, v }));
    for (const partitionBytes of [1 << 20, 200, 30]) {
      const result = await diff(text(old), text(current), { key: ["k"], partitionBytes });
      const sorted = <T>(items: T[]) => items.map((item) => JSON.stringify(item)).sort();
      assertEquals(sorted(result.added), sorted(expected.added));
      assertEquals(sorted(result.removed), sorted(removed));
      assertEquals(sorted(result.modified), sorted(expected.modified));
      assertEquals(result.summary.unchanged, expected.unchanged);
      if (partitionBytes === 1 << 20) {
        // Streamed: added and removed rows in file order.
        assertEquals(result.added, expected.added);
        assertEquals(result.removed, removed);
      }
    }
  }
});

test("by position, inserted and deleted rows are found as such, not as a shift of every row", async () => {
  const lines = Array.from({ length: 200 }, (_, i) => `${i},r${i}`);
  const current = [
    ...lines.slice(0, 10),
    "new,1",
    "new,2",
    ...lines.slice(10, 150),
    ...lines.slice(151),
  ];
  current[100] = "100,changed";
  const result = await diff(
    "id,v\n" + lines.join("\n") + "\n",
    "id,v\n" + current.join("\n") + "\n",
  );
  assertEquals(result.added, [{ id: "new", v: "1" }, { id: "new", v: "2" }]);
  assertEquals(result.removed, [{ id: "150", v: "r150" }]);
  assertEquals(result.modified, [
    { key: 101, changes: { id: ["98", "100"], v: ["r98", "changed"] } },
  ]);
  assertEquals(result.summary.unchanged, 198);
});

test("rows sharing a key are matched in order", async () => {
  const result = await diff("k,v\na,1\na,2\n", "k,v\na,1\na,3\na,4\n", { key: ["k"] });
  assertEquals(result.modified, [{ key: { k: "a" }, changes: { v: ["2", "3"] } }]);
  assertEquals(result.added, [{ k: "a", v: "4" }]);
});

test("columns added or removed are reported, and values absent on one side are null", async () => {
  const result = await diff("id,a,b\n1,x,y\n", "id,a,c\n1,x,z\n", { key: ["id"] });
  assertEquals([result.summary.addedColumns, result.summary.removedColumns], [["c"], ["b"]]);
  assertEquals(result.modified, [{
    key: { id: "1" },
    changes: { b: ["y", null], c: [null, "z"] },
  }]);
});

test("JSON Lines and JSON rows compare values, not text", async () => {
  const lines = await diff(
    '{"id": 1, "v": [1, 2]}\n{"id": 2, "v": 3}\n',
    '{"v": [1, 2], "id": 1}\n{"id": 2, "v": 4}\n',
    { format: "jsonl", key: ["id"] },
  );
  assertEquals(lines.modified, [{ key: { id: "2" }, changes: { v: [3, 4] } }]);
  assertEquals(lines.summary.unchanged, 1);
  const json = await diff('{"rows": [{"id": 1}, {"id": 2}]}', '[{"id": 2}, {"id": 3}]', {
    format: "json",
    key: ["id"],
  });
  assertEquals([json.added, json.removed], [[{ id: 3 }], [{ id: 1 }]]);
});

test("a side with no data (absent at a revision) makes every row added", async () => {
  const result = await diff("", "id,v\n1,a\n2,b\n", { key: ["id"] });
  assertEquals(result.added.length, 2);
  assertEquals(result.summary.addedColumns, ["id", "v"]);
});

test("bad input: an unknown key column, a row without one, malformed CSV or JSON", async () => {
  await assertRejects(
    () => diff("id,v\n1,a\n", "id,v\n1,b\n", { key: ["nope"] }),
    PivotError,
    /no\ column\ 'nope'/,
  );
  await assertRejects(
    () => diff('{"id": 1}\n{"x": 2}\n', '{"id": 1}\n', { format: "jsonl", key: ["id"] }),
    PivotError,
    /old\.csv:2:\ no\ key\ 'id'/,
  );
  await assertRejects(
    () => diff("id,v\n1,a\n", 'id,v\n1,"b"x"\n', { key: ["id"] }),
    PivotError,
    /new\.csv:2:\ not\ valid\ CSV/,
  );
  await assertRejects(
    () => diff("id,v\n1,a,extra\n", "id,v\n1,b\n"),
    PivotError,
    /old\.csv:2:\ 3\ fields,\ but\ the\ header\ has\ 2/,
  );
  await assertRejects(
    () => diff("{", "[]", { format: "json" }),
    PivotError,
    /old\.csv:\ not\ valid\ JSON/,
  );
});

test("directories are compared file by file by content hash", () => {
  assertEquals(
    diffDirectories(
      [{ path: "a", hash: "1" }, { path: "b", hash: "2" }, { path: "c", hash: "3" }],
      [{ path: "a", hash: "1" }, { path: "b", hash: "9" }, { path: "d", hash: "4" }],
    ),
    {
      added: [{ path: "d", hash: "4" }],
      removed: [{ path: "c", hash: "3" }],
      modified: [{ path: "b", old: "2", new: "9" }],
      unchanged: 1,
    },
  );
});
