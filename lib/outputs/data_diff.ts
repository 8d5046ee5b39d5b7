/**
 * Row-level diffs of tables (CSV, TSV, JSON, JSON Lines) and file-level
 * diffs of directories: the logic of `pivot data diff` (docs/data.md).
 *
 * Rows are matched by key columns (`--key`), else by position. A row whose
 * text is unchanged is never parsed; a matched row whose text changed is
 * parsed and compared column by column, and reported with the columns that
 * changed (a row whose text changed but whose values did not, such as
 * `"a"` and `a` in CSV, is unchanged).
 *
 * Memory stays bounded whatever the size of the tables (JSON documents
 * excepted, which are parsed whole, and diffed by key in memory):
 *
 * - By position, both tables are read side by side, one batch of records
 *   at a time.
 * - By key, both tables are read side by side too: records at the two read
 *   positions that share their key pair up at once, and a record whose key
 *   the other table has not reached waits in a map until it does. Two
 *   versions of a table mostly keep their order, so few records wait. When
 *   more than {@link PARTITION_BYTES} of records wait (tables in different
 *   orders), what is left of both tables is split by a hash of the key into
 *   partitions of about that size (temporary files), diffed one at a time:
 *   memory holds one partition, whatever the size of the files. A JSON
 *   document, parsed whole anyway, is diffed by key in memory.
 *
 * What is found goes to a {@link RowDiffSink} as it is found, so output can
 * be streamed too.
 *
 * @module
 */

import { join } from "node:path";
import { PivotError } from "../errors.ts";
import { sameValue } from "../flatten.ts";
import {
  KEY_SEPARATOR,
  openTable,
  type Row,
  type RowFormat,
  type TableReader,
} from "./_records.ts";

export { type Row, type RowFormat, rowFormatOf } from "./_records.ts";

/**
 * Most characters of records waiting for their match in a diff by key
 * before the rest is split into partitions of about this size. A partition
 * costs about 5 bytes of heap per byte of its text (each record's string,
 * its key and the map entry), so about 80 MiB.
 */
const PARTITION_BYTES = 16 * 1024 * 1024;

/** One side of a row diff. */
export interface RowSource {
  /** How it is named in messages: `data.csv at HEAD`. */
  readonly label: string;
  /** Its size in bytes (to plan partitions). */
  readonly size: number;
  /** Open its bytes; called once per pass over it (at most twice). */
  open(): Promise<ReadableStream<Uint8Array>>;
}

/** A row present on both sides whose values differ. */
export interface ModifiedRow {
  /**
   * The row's key: its key columns' values (`{ id: "17" }`), or with no
   * `--key` its 1-based position among the rows.
   */
  readonly key: Record<string, unknown> | number;
  /** Each changed column: `[old, new]` (null for a value absent on one side). */
  readonly changes: Record<string, [unknown, unknown]>;
}

/** Receives what a row diff finds, as it is found. */
export interface RowDiffSink {
  /** A row only the new table has. */
  added(row: Row): void | Promise<void>;
  /** A row only the old table has. */
  removed(row: Row): void | Promise<void>;
  /** A row both tables have, changed. */
  modified(row: ModifiedRow): void | Promise<void>;
}

/** Counts of a row diff, and the columns that came and went. */
export interface RowDiffSummary {
  /** Rows added. */
  readonly added: number;
  /** Rows removed. */
  readonly removed: number;
  /** Rows modified. */
  readonly modified: number;
  /** Rows unchanged. */
  readonly unchanged: number;
  /** Columns only the new table has (CSV and TSV). */
  readonly addedColumns: readonly string[];
  /** Columns only the old table has (CSV and TSV). */
  readonly removedColumns: readonly string[];
}

/** Options of {@link diffRows}. */
export interface RowDiffOptions {
  /** The tables' format. */
  readonly format: RowFormat;
  /** Columns that identify a row; empty or undefined: match rows by position. */
  readonly key?: readonly string[];
  /** A directory for partition files (removed when done). */
  readonly tmpDir: string;
  /**
   * By key: rows of one table still waiting for their match in the other
   * above this many bytes make the diff go on in partitions (default
   * {@link PARTITION_BYTES}).
   */
  readonly partitionBytes?: number;
  /** Told when a diff by key goes on in partitions (for tests). */
  readonly onPartition?: () => void;
}

/**
 * Diff the rows of `old` and `current`, telling `sink` each added, removed
 * and modified row.
 *
 * @throws {PivotError} for a table that does not parse, a key column that
 * neither table has, or a row without a key column.
 *
 * @example
 * ```ts
 * const summary = await diffRows(oldSource, newSource, { format: "csv", key: ["id"], tmpDir }, {
 *   added: (row) => console.log("+", row),
 *   removed: (row) => console.log("-", row),
 *   modified: ({ key, changes }) => console.log("~", key, changes),
 * });
 * ```
 */
export async function diffRows(
  old: RowSource,
  current: RowSource,
  options: RowDiffOptions,
  sink: RowDiffSink,
): Promise<RowDiffSummary> {
  const key = options.key ?? [];
  const before = await openTable(await old.open(), options.format, old.label);
  let after: TableReader;
  try {
    after = await openTable(await current.open(), options.format, current.label);
  } catch (error) {
    await before.close();
    throw error;
  }
  const counts = { added: 0, removed: 0, modified: 0, unchanged: 0 };
  const columns = {
    addedColumns: after.columns?.filter((c) => !before.columns!.includes(c)) ?? [],
    removedColumns: before.columns?.filter((c) => !after.columns!.includes(c)) ?? [],
  };
  if (key.length > 0 && before.columns && after.columns) {
    for (const column of key) {
      if (!before.columns.includes(column) && !after.columns.includes(column)) {
        await Promise.all([before.close(), after.close()]);
        throw new PivotError(
          `--key: no column '${column}' in ${current.label}: the columns are ${
            after.columns.join(", ")
          }`,
        );
      }
    }
  }
  const compare = new Comparer(before, after, sink, counts, key);
  try {
    if (key.length === 0) await byPosition(before, after, compare);
    else if (options.format === "json") {
      // A JSON document is parsed whole anyway: nothing to gain from streaming or partitions.
      await byKeyInMemory(before, after, key, compare);
    } else {
      const budget = options.partitionBytes ?? PARTITION_BYTES;
      await byKeyStreaming(before, after, key, compare, budget, async (oldRest, newRest) => {
        options.onPartition?.();
        const count = Math.max(1, Math.ceil(Math.max(old.size, current.size) / budget));
        await byKeyPartitioned(
          { header: before.header, batches: oldRest, label: old.label },
          { header: after.header, batches: newRest, label: current.label },
          options,
          key,
          count,
          compare,
        );
      });
    }
  } finally {
    await Promise.all([before.close(), after.close()]);
  }
  return { ...counts, ...columns };
}

/** Records of a table ahead of a read position, pulled a batch at a time as needed. */
class Lookahead {
  #raw: string[] = [];
  #lines: number[] = [];
  #head = 0;
  #ended = false;
  readonly #table: TableReader;

  constructor(table: TableReader) {
    this.#table = table;
  }

  /** Records available from the head (after {@link ensure}). */
  get size(): number {
    return this.#raw.length - this.#head;
  }

  /** Make at least `count` records available from the head, unless the table ends first. */
  async ensure(count: number): Promise<void> {
    while (this.size < count && !this.#ended) {
      const batch = await this.#table.next();
      if (batch === undefined) {
        this.#ended = true;
        break;
      }
      if (this.#head > 0) {
        this.#raw = this.#raw.slice(this.#head);
        this.#lines = this.#lines.slice(this.#head);
        this.#head = 0;
      }
      for (let i = 0; i < batch.raw.length; i++) {
        this.#raw.push(batch.raw[i]);
        this.#lines.push(batch.lines[i]);
      }
    }
  }

  raw(offset: number): string {
    return this.#raw[this.#head + offset];
  }

  line(offset: number): number {
    return this.#lines[this.#head + offset];
  }

  /** The offset of the first record from `from` to `to` (exclusive) whose text is `raw`; -1 if none. */
  find(raw: string, from: number, to: number): number {
    const end = Math.min(this.#head + to, this.#raw.length);
    for (let i = this.#head + from; i < end; i++) if (this.#raw[i] === raw) return i - this.#head;
    return -1;
  }

  /** Remove `count` records from the head and return their text and lines. */
  take(count: number): { raw: string[]; lines: number[] } {
    const raw = this.#raw.slice(this.#head, this.#head + count);
    const lines = this.#lines.slice(this.#head, this.#head + count);
    this.#head += count;
    return { raw, lines };
  }

  skip(count: number): void {
    this.#head += count;
  }

  /**
   * Skip the records `this` and `other` have in common from their heads
   * (equal text), synchronously, as far as both hold records; returns how
   * many. Most rows of two versions of a table are such rows: one string
   * comparison each, no promise.
   */
  skipCommon(other: Lookahead): number {
    const a = this.#raw;
    const b = other.#raw;
    let i = this.#head;
    let j = other.#head;
    const end = i + Math.min(a.length - i, b.length - j);
    while (i < end && a[i] === b[j]) {
      i++;
      j++;
    }
    const count = i - this.#head;
    this.#head = i;
    other.#head = j;
    return count;
  }
}

/** How far a short search for a matching record looks, and how far a long one. */
const NEAR = 32;
const FAR = 65_536;

/** Turns pairs of records into sink calls and counts. */
class Comparer {
  constructor(
    readonly before: TableReader,
    readonly after: TableReader,
    readonly sink: RowDiffSink,
    readonly counts: { added: number; removed: number; modified: number; unchanged: number },
    readonly key: readonly string[],
  ) {}

  async pair(
    oldRaw: string,
    oldLine: number,
    newRaw: string,
    newLine: number,
    key: Record<string, unknown> | number,
  ): Promise<void> {
    if (oldRaw === newRaw) {
      this.counts.unchanged++;
      return;
    }
    const [[a], [b]] = await Promise.all([
      this.before.rows([oldRaw], [oldLine]),
      this.after.rows([newRaw], [newLine]),
    ]);
    const changes: Record<string, [unknown, unknown]> = {};
    for (const column of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const had = Object.hasOwn(a, column);
      const has = Object.hasOwn(b, column);
      if (had && has && sameValue(a[column], b[column])) continue;
      changes[column] = [had ? a[column] : null, has ? b[column] : null];
    }
    if (Object.keys(changes).length === 0) {
      this.counts.unchanged++;
      return;
    }
    this.counts.modified++;
    await this.sink.modified({ key, changes });
  }

  async added(raw: readonly string[], lines: readonly number[]): Promise<void> {
    for (const row of await this.after.rows(raw, lines)) {
      this.counts.added++;
      await this.sink.added(row);
    }
  }

  async removed(raw: readonly string[], lines: readonly number[]): Promise<void> {
    for (const row of await this.before.rows(raw, lines)) {
      this.counts.removed++;
      await this.sink.removed(row);
    }
  }

  keyObject(joined: string): Record<string, unknown> {
    const values = this.key.length === 1 ? [joined] : joined.split(KEY_SEPARATOR);
    const result: Record<string, unknown> = {};
    this.key.forEach((column, i) => result[column] = values[i]);
    return result;
  }
}

/**
 * Rows matched by position, as `diff` matches lines: equal rows pair up; at
 * a difference, a row of one table found a little further on in the other
 * means rows were inserted (or deleted) before it, else the two rows are
 * one modified row. The search looks {@link NEAR} rows ahead, then, when
 * that fails, {@link FAR} rows (fewer and fewer times while it keeps
 * failing, so tables that differ everywhere stay cheap). Memory holds at
 * most {@link FAR} rows of each table. A block of more than {@link FAR}
 * rows inserted at once shows as modified rows: use `--key` for such data.
 */
async function byPosition(before: TableReader, after: TableReader, compare: Comparer) {
  const a = new Lookahead(before);
  const b = new Lookahead(after);
  let position = 0;
  let gap = 0;
  let nextFarSearch = 0;
  while (true) {
    const common = a.skipCommon(b);
    position += common;
    compare.counts.unchanged += common;
    if (a.size < 2 || b.size < 2) await Promise.all([a.ensure(2), b.ensure(2)]);
    if (a.size === 0 || b.size === 0) break;
    if (a.raw(0) === b.raw(0)) {
      a.skip(1);
      b.skip(1);
      position++;
      compare.counts.unchanged++;
      continue;
    }
    let added = -1;
    let removed = -1;
    if (a.size < 2 || b.size < 2 || a.raw(1) !== b.raw(1)) {
      await Promise.all([a.ensure(NEAR), b.ensure(NEAR)]);
      added = b.find(a.raw(0), 1, NEAR);
      removed = a.find(b.raw(0), 1, NEAR);
      if (added < 0 && removed < 0 && position >= nextFarSearch) {
        await Promise.all([a.ensure(FAR), b.ensure(FAR)]);
        added = b.find(a.raw(0), NEAR, FAR);
        removed = a.find(b.raw(0), NEAR, FAR);
        if (added < 0 && removed < 0) {
          gap = Math.min(Math.max(gap * 2, 64), FAR);
          nextFarSearch = position + gap;
        } else gap = 0;
      }
    }
    if (added >= 0 && (removed < 0 || added <= removed)) {
      const rows = b.take(added);
      position += added;
      await compare.added(rows.raw, rows.lines);
    } else if (removed >= 0) {
      const rows = a.take(removed);
      await compare.removed(rows.raw, rows.lines);
    } else {
      position++;
      await compare.pair(a.raw(0), a.line(0), b.raw(0), b.line(0), position);
      a.skip(1);
      b.skip(1);
    }
  }
  // The rest of the longer table was added (or removed), a batch at a time.
  for (const [rest, report] of [[a, compare.removed], [b, compare.added]] as const) {
    while (rest.size > 0) {
      const rows = rest.take(Math.min(rest.size, 4096));
      await report.call(compare, rows.raw, rows.lines);
      await rest.ensure(1);
    }
  }
}

/**
 * The old table's records, looked up by key. Records are kept in arrays in
 * file order and the map holds indices (small integers, no object per
 * record); several records with one key are chained and matched in order.
 */
class OldRecords {
  readonly raw: string[] = [];
  readonly lines: number[] = [];
  readonly #next: number[] = [];
  readonly #taken: number[] = [];
  readonly #first = new Map<string, number>();
  /** The last record of each key seen more than once (most keys are unique: one map write each). */
  readonly #last = new Map<string, number>();

  add(key: string, raw: string, line: number): void {
    const index = this.raw.length;
    this.raw.push(raw);
    this.lines.push(line);
    this.#next.push(-1);
    this.#taken.push(0);
    const first = this.#first.get(key);
    if (first === undefined) {
      this.#first.set(key, index);
      return;
    }
    this.#next[this.#last.get(key) ?? first] = index;
    this.#last.set(key, index);
  }

  /** The index of the first record not yet matched with `key`, now matched; -1 when none. */
  take(key: string): number {
    const index = this.#first.get(key);
    if (index === undefined || index < 0) return -1;
    this.#first.set(key, this.#next[index]);
    this.#taken[index] = 1;
    return index;
  }

  /** Report the records never matched (removed), in file order. */
  async reportLeft(compare: Comparer): Promise<void> {
    const raw: string[] = [];
    const lines: number[] = [];
    for (let i = 0; i < this.raw.length; i++) {
      if (this.#taken[i] === 1) continue;
      raw.push(this.raw[i]);
      lines.push(this.lines[i]);
      if (raw.length >= 4096) await compare.removed(raw.splice(0), lines.splice(0));
    }
    if (raw.length > 0) await compare.removed(raw, lines);
  }
}

/** Records of `table` with their keys, a batch at a time; `lineOf` maps a record's ordinal to its line. */
async function* keyed(
  table: TableReader,
  key: readonly string[],
  lineOf?: (ordinal: number) => number,
): AsyncGenerator<{ raw: readonly string[]; lines: readonly number[]; keys: readonly string[] }> {
  let ordinal = 0;
  for (let batch = await table.next(); batch; batch = await table.next()) {
    const keys = await table.keys(batch.raw, batch.lines, key);
    const lines = lineOf ? batch.raw.map(() => lineOf(ordinal++)) : batch.lines;
    yield { raw: batch.raw, lines, keys };
  }
}

/** Match the records of `after` against `old` by key; report what is left as removed. */
async function matchByKey(
  old: OldRecords,
  batches: AsyncIterable<
    { raw: readonly string[]; lines: readonly number[]; keys: readonly string[] }
  >,
  compare: Comparer,
): Promise<void> {
  for await (const { raw, lines, keys } of batches) {
    const addedRaw: string[] = [];
    const addedLines: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const match = old.take(keys[i]);
      if (match < 0) {
        addedRaw.push(raw[i]);
        addedLines.push(lines[i]);
      } else if (old.raw[match] === raw[i]) compare.counts.unchanged++;
      else {
        await compare.pair(
          old.raw[match],
          old.lines[match],
          raw[i],
          lines[i],
          compare.keyObject(keys[i]),
        );
      }
    }
    if (addedRaw.length > 0) await compare.added(addedRaw, addedLines);
  }
  await old.reportLeft(compare);
}

/** A record waiting for its match. */
interface Waiting {
  readonly raw: string;
  readonly line: number;
}

/**
 * The records of one table that the other has not matched yet, by key;
 * records sharing a key wait in order.
 */
class WaitingRecords {
  readonly #byKey = new Map<string, Waiting | Waiting[]>();
  /**
   * How many waiting keys fall in each of 65,536 slots by a hash of the key:
   * most keys looked up wait nowhere, and a zero here says so without a
   * map lookup (string keys that look like integers, the usual ids, hash
   * badly in V8's maps: a lookup that misses cost about a microsecond).
   */
  readonly #slots = new Uint32Array(1 << 16);
  /** Characters of the records waiting. */
  chars = 0;

  get size(): number {
    return this.#byKey.size;
  }

  add(key: string, raw: string, line: number): void {
    const record = { raw, line };
    this.#slots[slot(key)]++;
    const there = this.#byKey.get(key);
    if (there === undefined) this.#byKey.set(key, record);
    else if (Array.isArray(there)) there.push(record);
    else this.#byKey.set(key, [there, record]);
    this.chars += raw.length;
  }

  has(key: string): boolean {
    return this.#slots[slot(key)] > 0 && this.#byKey.has(key);
  }

  /** The first record waiting with `key`, no longer waiting; undefined when none. */
  take(key: string): Waiting | undefined {
    const at = slot(key);
    if (this.#slots[at] === 0) return undefined;
    const there = this.#byKey.get(key);
    if (there === undefined) return undefined;
    let record: Waiting;
    if (Array.isArray(there)) {
      record = there.shift()!;
      if (there.length === 1) this.#byKey.set(key, there[0]);
    } else {
      record = there;
      this.#byKey.delete(key);
    }
    this.#slots[at]--;
    this.chars -= record.raw.length;
    return record;
  }

  /** Every record waiting, in file order, with its key; none waits any more. */
  drain(): KeyedBatch {
    const all: (Waiting & { key: string })[] = [];
    for (const [key, there] of this.#byKey) {
      for (const record of Array.isArray(there) ? there : [there]) all.push({ ...record, key });
    }
    this.#byKey.clear();
    this.#slots.fill(0);
    this.chars = 0;
    all.sort((a, b) => a.line - b.line);
    return {
      raw: all.map((record) => record.raw),
      lines: all.map((record) => record.line),
      keys: all.map((record) => record.key),
    };
  }
}

/** A read position in a table's records, with their keys, a batch at a time. */
class KeyedCursor {
  raw: readonly string[] = [];
  lines: readonly number[] = [];
  keys: readonly string[] = [];
  at = 0;
  ended = false;
  readonly #table: TableReader;
  readonly #key: readonly string[];

  constructor(table: TableReader, key: readonly string[]) {
    this.#table = table;
    this.#key = key;
  }

  /** Make a record available at {@link at}, unless the table has ended. */
  async fill(): Promise<void> {
    while (this.at >= this.raw.length && !this.ended) {
      const batch = await this.#table.next();
      if (batch === undefined) {
        this.ended = true;
        this.raw = this.lines = this.keys = [];
      } else {
        this.keys = await this.#table.keys(batch.raw, batch.lines, this.#key);
        this.raw = batch.raw;
        this.lines = batch.lines;
      }
      this.at = 0;
    }
  }

  /** The records from {@link at} on: the rest of this batch, then the table's next ones. */
  async *rest(): AsyncGenerator<KeyedBatch> {
    if (this.at < this.raw.length) {
      yield {
        raw: this.raw.slice(this.at),
        lines: this.lines.slice(this.at),
        keys: this.keys.slice(this.at),
      };
    }
    this.at = this.raw.length;
    for (await this.fill(); !this.ended; await this.fill()) {
      yield { raw: this.raw, lines: this.lines, keys: this.keys };
      this.at = this.raw.length;
    }
  }
}

async function* concat(first: KeyedBatch, rest: AsyncIterable<KeyedBatch>) {
  if (first.raw.length > 0) yield first;
  yield* rest;
}

/**
 * Rows matched by key while both tables stream past side by side. Two
 * versions of a table mostly keep their rows in the same order, so the
 * records at the two read positions mostly share their key: they pair up at
 * once (an unchanged row costs a key and a string comparison, nothing is
 * stored). A record whose key the other table has not reached waits, by
 * key, until it does; a record found nowhere is added (or removed) once the
 * other table has ended. When more than `budget` characters of records wait
 * (tables in different orders), what is left of both tables, the waiting
 * records first, goes to `spill` (the partitioned diff).
 *
 * Rows sharing a key are matched in order: a record pairs at once only when
 * no record with its key waits on either side.
 */
async function byKeyStreaming(
  before: TableReader,
  after: TableReader,
  key: readonly string[],
  compare: Comparer,
  budget: number,
  spill: (oldRest: AsyncIterable<KeyedBatch>, newRest: AsyncIterable<KeyedBatch>) => Promise<void>,
) {
  const a = new KeyedCursor(before, key);
  const b = new KeyedCursor(after, key);
  const oldWaiting = new WaitingRecords();
  const newWaiting = new WaitingRecords();
  const pair = (old: Waiting, raw: string, line: number, joined: string) =>
    old.raw === raw
      ? void compare.counts.unchanged++
      : compare.pair(old.raw, old.line, raw, line, compare.keyObject(joined));
  const pairNew = (raw: string, line: number, joined: string, current: Waiting) =>
    raw === current.raw
      ? void compare.counts.unchanged++
      : compare.pair(raw, line, current.raw, current.line, compare.keyObject(joined));
  while (true) {
    await Promise.all([a.fill(), b.fill()]);
    if (a.ended || b.ended) break;
    while (a.at < a.raw.length && b.at < b.raw.length) {
      const ka = a.keys[a.at];
      const kb = b.keys[b.at];
      if (
        ka === kb && (oldWaiting.size === 0 || !oldWaiting.has(ka)) &&
        (newWaiting.size === 0 || !newWaiting.has(ka))
      ) {
        const [oldRaw, newRaw] = [a.raw[a.at], b.raw[b.at]];
        if (oldRaw === newRaw) compare.counts.unchanged++;
        else {await compare.pair(
            oldRaw,
            a.lines[a.at],
            newRaw,
            b.lines[b.at],
            compare.keyObject(ka),
          );}
        a.at++;
        b.at++;
        continue;
      }
      const current = newWaiting.size === 0 ? undefined : newWaiting.take(ka);
      if (current) {
        await pairNew(a.raw[a.at], a.lines[a.at], ka, current);
        a.at++;
        continue;
      }
      const old = oldWaiting.size === 0 ? undefined : oldWaiting.take(kb);
      if (old) {
        await pair(old, b.raw[b.at], b.lines[b.at], kb);
        b.at++;
        continue;
      }
      oldWaiting.add(ka, a.raw[a.at], a.lines[a.at]);
      newWaiting.add(kb, b.raw[b.at], b.lines[b.at]);
      a.at++;
      b.at++;
      if (oldWaiting.chars + newWaiting.chars > budget) {
        await spill(concat(oldWaiting.drain(), a.rest()), concat(newWaiting.drain(), b.rest()));
        return;
      }
    }
  }
  // One table has ended: what waits on the other side can no longer be matched.
  const [going, waitingThere, waitingHere] = a.ended
    ? [b, oldWaiting, newWaiting]
    : [a, newWaiting, oldWaiting];
  const report = (batch: KeyedBatch) =>
    going === b ? compare.added(batch.raw, batch.lines) : compare.removed(batch.raw, batch.lines);
  const left = waitingHere.drain();
  if (left.raw.length > 0) await report(left);
  for await (const batch of going.rest()) {
    const raw: string[] = [];
    const lines: number[] = [];
    for (let i = 0; i < batch.raw.length; i++) {
      const match = waitingThere.size === 0 ? undefined : waitingThere.take(batch.keys[i]);
      if (match === undefined) {
        raw.push(batch.raw[i]);
        lines.push(batch.lines[i]);
      } else if (going === b) await pair(match, batch.raw[i], batch.lines[i], batch.keys[i]);
      else await pairNew(batch.raw[i], batch.lines[i], batch.keys[i], match);
    }
    if (raw.length > 0) await report({ raw, lines, keys: [] });
  }
  const never = waitingThere.drain();
  if (never.raw.length > 0) {
    if (going === b) await compare.removed(never.raw, never.lines);
    else await compare.added(never.raw, never.lines);
  }
}

async function byKeyInMemory(
  before: TableReader,
  after: TableReader,
  key: readonly string[],
  compare: Comparer,
) {
  const old = new OldRecords();
  for await (const { raw, lines, keys } of keyed(before, key)) {
    for (let i = 0; i < keys.length; i++) old.add(keys[i], raw[i], lines[i]);
  }
  await matchByKey(old, keyed(after, key), compare);
}

/** A batch of records with their keys. */
interface KeyedBatch {
  readonly raw: readonly string[];
  readonly lines: readonly number[];
  readonly keys: readonly string[];
}

/** What is left of one table to partition: its header, and its records still to diff. */
interface TableRest {
  readonly header: string | undefined;
  readonly batches: AsyncIterable<KeyedBatch>;
  readonly label: string;
}

/**
 * Split what is left of both tables into `count` partitions by a hash of
 * each row's key, then diff partition by partition. A partition is a table
 * of the same format (the header, then its records in the order given)
 * with a side file of the records' line numbers (32-bit integers), so it is
 * read back by the same reader.
 */
async function byKeyPartitioned(
  old: TableRest,
  current: TableRest,
  options: RowDiffOptions,
  key: readonly string[],
  count: number,
  compare: Comparer,
) {
  await Deno.mkdir(options.tmpDir, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: options.tmpDir, prefix: "data-diff-" });
  try {
    await partition(old, count, join(dir, "old"));
    await partition(current, count, join(dir, "new"));
    const open = async (base: string, label: string) => {
      const lines = new Int32Array((await Deno.readFile(`${base}.lines`)).buffer);
      const table = await openTable(readFile(base), options.format, label);
      return { table, lineOf: (ordinal: number) => lines[ordinal] };
    };
    for (let n = 0; n < count; n++) {
      const oldPart = await open(join(dir, `old.${n}`), old.label);
      const newPart = await open(join(dir, `new.${n}`), current.label);
      const records = new OldRecords();
      for await (const { raw, lines, keys } of keyed(oldPart.table, key, oldPart.lineOf)) {
        for (let i = 0; i < keys.length; i++) records.add(keys[i], raw[i], lines[i]);
      }
      await matchByKey(records, keyed(newPart.table, key, newPart.lineOf), compare);
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Write the records of `table` into `count` partitions `<base>.<n>` by key
 * hash: each the table's header (if any) and its records, with their line
 * numbers in `<base>.<n>.lines`.
 */
async function partition(table: TableRest, count: number, base: string) {
  const files = await Promise.all(
    Array.from(
      { length: count },
      (_, n) => Deno.open(`${base}.${n}`, { write: true, create: true }),
    ),
  );
  const lineFiles = await Promise.all(
    Array.from(
      { length: count },
      (_, n) => Deno.open(`${base}.${n}.lines`, { write: true, create: true }),
    ),
  );
  const header = table.header === undefined ? "" : table.header + "\n";
  const buffers: string[][] = files.map(() => [header]);
  const lineBuffers: number[][] = files.map(() => []);
  const sizes = files.map(() => header.length);
  const encoder = new TextEncoder();
  const writeAll = async (file: Deno.FsFile, bytes: Uint8Array) => {
    for (let offset = 0; offset < bytes.length;) offset += await file.write(bytes.subarray(offset));
  };
  const flush = async (n: number) => {
    await writeAll(files[n], encoder.encode(buffers[n].join("")));
    await writeAll(lineFiles[n], new Uint8Array(Int32Array.from(lineBuffers[n]).buffer));
    buffers[n] = [];
    lineBuffers[n] = [];
    sizes[n] = 0;
  };
  try {
    for await (const { raw, lines, keys } of table.batches) {
      for (let i = 0; i < keys.length; i++) {
        const n = fnv1a(keys[i]) % count;
        buffers[n].push(raw[i], "\n");
        lineBuffers[n].push(lines[i]);
        sizes[n] += raw[i].length + 1;
        if (sizes[n] >= 1 << 20) await flush(n);
      }
    }
    for (let n = 0; n < count; n++) await flush(n);
  } finally {
    for (const file of [...files, ...lineFiles]) file.close();
  }
}

/**
 * The bytes of the file at `path` in 1 MiB chunks (`FsFile.readable` reads
 * 64 KiB at a time: 16 times the calls for the same bytes).
 *
 * @example
 * ```ts
 * const stream = readFile("/tmp/table.csv");
 * ```
 */
export function readFile(path: string): ReadableStream<Uint8Array> {
  let file: Deno.FsFile | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      file ??= await Deno.open(path);
      const buffer = new Uint8Array(1 << 20);
      const n = await file.read(buffer);
      if (n === null) {
        file.close();
        file = undefined;
        controller.close();
        return;
      }
      controller.enqueue(buffer.subarray(0, n));
    },
    cancel() {
      file?.close();
      file = undefined;
    },
  });
}

/**
 * The slot of `key` among 65,536: its length and last four characters,
 * mixed (constant time; keys that differ mostly differ at their end).
 */
function slot(key: string): number {
  const n = key.length;
  let hash = Math.imul(n, 0x9e3779b1);
  for (let i = Math.max(0, n - 4); i < n; i++) {
    hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  }
  return (hash ^ (hash >>> 16)) & 0xffff;
}

/** FNV-1a of a string's UTF-16 units: spreads keys over partitions. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** A file of a directory at one side of a diff: its path in the directory and its hash. */
export interface DirFile {
  /** Path relative to the directory. */
  readonly path: string;
  /** Content hash. */
  readonly hash: string;
}

/** A directory diff: files added, removed and modified (by content hash). */
export interface DirDiff {
  /** Files only the new side has. */
  readonly added: readonly DirFile[];
  /** Files only the old side has. */
  readonly removed: readonly DirFile[];
  /** Files on both sides whose content differs. */
  readonly modified: readonly {
    readonly path: string;
    readonly old: string;
    readonly new: string;
  }[];
  /** Files on both sides with the same content. */
  readonly unchanged: number;
}

/**
 * Compare two directories' files by content hash.
 *
 * @example
 * ```ts
 * diffDirectories([{ path: "a.csv", hash: "1" }], [{ path: "a.csv", hash: "2" }, { path: "b.csv", hash: "3" }]);
 * // { added: [{ path: "b.csv", hash: "3" }], removed: [], modified: [{ path: "a.csv", old: "1", new: "2" }], unchanged: 0 }
 * ```
 */
export function diffDirectories(old: readonly DirFile[], current: readonly DirFile[]): DirDiff {
  const before = new Map(old.map((file) => [file.path, file.hash]));
  const after = new Map(current.map((file) => [file.path, file.hash]));
  const added = current.filter((file) => !before.has(file.path));
  const removed = old.filter((file) => !after.has(file.path));
  const modified = current.flatMap((file) => {
    const was = before.get(file.path);
    return was !== undefined && was !== file.hash
      ? [{ path: file.path, old: was, new: file.hash }]
      : [];
  });
  return {
    added,
    removed,
    modified,
    unchanged: current.length - added.length - modified.length,
  };
}
