/**
 * Reading tables as streams of records, for `data diff`: CSV and TSV (with
 * a header), JSON Lines (one object a line) and JSON (a list of objects).
 *
 * A record keeps its raw text: two versions of a row with the same text are
 * equal without being parsed, which is what makes diffing millions of
 * mostly unchanged rows cheap. Fields are parsed only when needed (a key
 * column, or a row that changed).
 *
 * CSV records are split from the byte stream by line, a line continuing
 * the record while the record holds an odd number of quote characters (a
 * quoted field with a line break). Fields come from `csv-parse`, the CSV
 * parser of the loaders; a record with no quote character at all is split
 * at its delimiters directly, which is exactly what the CSV grammar gives
 * for it (RFC 4180: a field without quotes holds no delimiter, quote or
 * line break) and several times faster. Records with quotes are handed to
 * `csv-parse` in batches, so a file quoting every field costs one parser
 * call per batch, not one per row.
 *
 * @module
 */

import { PivotError } from "../errors.ts";

/** Table formats `data diff` compares row by row. */
export type RowFormat = "csv" | "tsv" | "json" | "jsonl";

/** The row format of `path`, by its extension; undefined for another kind of file. */
export function rowFormatOf(path: string): RowFormat | undefined {
  const name = path.slice(path.lastIndexOf("/") + 1).toLowerCase();
  const dot = name.lastIndexOf(".");
  const extension = dot <= 0 ? "" : name.slice(dot + 1);
  return extension === "csv" || extension === "tsv" || extension === "json" ||
      extension === "jsonl"
    ? extension
    : undefined;
}

/** A row's values by column. CSV values are strings; JSON values are as written. */
export type Row = Record<string, unknown>;

/** A batch of records of one table, read from its stream. */
export interface RecordBatch {
  /** Raw text of each record (without its line break). */
  readonly raw: readonly string[];
  /** 1-based line of each record in the file, for messages. */
  readonly lines: readonly number[];
}

/** Reads one table as batches of records. */
export interface TableReader {
  /** `data.csv at HEAD`: names the table in errors. */
  readonly label: string;
  /** The columns of a CSV/TSV header; undefined for JSON and JSON Lines (keys vary by row). */
  readonly columns: readonly string[] | undefined;
  /** The raw header record of a CSV/TSV; undefined for JSON and JSON Lines. */
  readonly header: string | undefined;
  /** The next batch, or undefined at the end. */
  next(): Promise<RecordBatch | undefined>;
  /** The rows of `batch.raw[from..to)` (parsed; a CSV row keyed by the header). */
  rows(raw: readonly string[], lines: readonly number[]): Promise<Row[]>;
  /**
   * The values of `columns` in each record of `raw`, joined into one string
   * per record (a row key). Throws for a row that lacks one of them.
   */
  keys(
    raw: readonly string[],
    lines: readonly number[],
    columns: readonly string[],
  ): Promise<string[]>;
  /** Stop reading (the stream is cancelled). */
  close(): Promise<void>;
}

/** Separates key values inside a joined key; cannot occur in text read from a file as UTF-8. */
export const KEY_SEPARATOR = "\u0000";

const BATCH = 8192;

/**
 * A reader of the table in `stream` (bytes), in `format`. For CSV and TSV
 * the header is read at once; an empty file is a table without columns or
 * rows.
 *
 * @throws {PivotError} for a header naming a column twice.
 */
export async function openTable(
  stream: ReadableStream<Uint8Array>,
  format: RowFormat,
  label: string,
): Promise<TableReader> {
  if (format === "json") return await jsonTable(stream, label);
  if (format === "jsonl") return jsonLinesTable(stream, label);
  const delimiter = format === "tsv" ? "\t" : ",";
  const lines = csvLines(stream);
  const first = await lines.next();
  if (first === undefined) return emptyTable(label);
  const [header] = await parseCsv([first.raw[0]], [first.lines[0]], delimiter, label);
  const seen = new Set<string>();
  for (const column of header) {
    if (seen.has(column)) {
      throw new PivotError(`${label}: the header names column '${column}' twice`);
    }
    seen.add(column);
  }
  let pending: RecordBatch | undefined = first.raw.length > 1
    ? { raw: first.raw.slice(1), lines: first.lines.slice(1) }
    : undefined;
  const fields = async (raw: readonly string[], at: readonly number[]) => {
    const parsed = await parseCsv(raw, at, delimiter, label);
    parsed.forEach((values, i) => {
      if (values.length !== header.length) {
        throw new PivotError(
          `${label}:${at[i]}: ${values.length} fields, but the header has ${header.length}`,
        );
      }
    });
    return parsed;
  };
  return {
    label,
    columns: header,
    header: first.raw[0],
    next: async () => {
      if (pending) {
        const batch = pending;
        pending = undefined;
        return batch;
      }
      return await lines.next();
    },
    rows: async (raw, at) =>
      (await fields(raw, at)).map((values) => {
        const row: Row = {};
        header.forEach((column, i) => row[column] = values[i]);
        return row;
      }),
    keys: async (raw, at, columns) => {
      const indices = columns.map((column) => header.indexOf(column));
      const missing = columns.filter((_, i) => indices[i] < 0);
      if (missing.length > 0) {
        throw new PivotError(
          `${label}: no column ${
            missing.map((c) => `'${c}'`).join(", ")
          } to match rows by: the columns are ${header.join(", ")}`,
        );
      }
      const last = Math.max(...indices);
      const result = new Array<string>(raw.length);
      const quoted: number[] = [];
      for (let i = 0; i < raw.length; i++) {
        const record = raw[i];
        if (record.includes('"')) {
          quoted.push(i);
          continue;
        }
        if (indices.length === 1) {
          const value = fieldAt(record, delimiter, indices[0]);
          if (value !== undefined) {
            result[i] = value;
            continue;
          }
        }
        const values = leadingFields(record, delimiter, last + 1);
        if (values.length <= last && countFields(record, delimiter) !== header.length) {
          throw new PivotError(
            `${label}:${at[i]}: ${
              countFields(record, delimiter)
            } fields, but the header has ${header.length}`,
          );
        }
        result[i] = indices.length === 1
          ? values[indices[0]]
          : indices.map((index) => values[index]).join(KEY_SEPARATOR);
      }
      if (quoted.length > 0) {
        const parsed = await fields(quoted.map((i) => raw[i]), quoted.map((i) => at[i]));
        quoted.forEach((i, n) => {
          result[i] = indices.map((index) => parsed[n][index]).join(KEY_SEPARATOR);
        });
      }
      return result;
    },
    close: () => lines.close(),
  };
}

/** A table with no columns and no rows (an empty file, or data absent on one side). */
function emptyTable(label: string): TableReader {
  return {
    label,
    columns: [],
    header: undefined,
    next: () => Promise.resolve(undefined),
    rows: () => Promise.resolve([]),
    keys: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
}

/**
 * Field `index` of a record without quotes, without splitting the rest;
 * undefined when the record has no such field.
 */
function fieldAt(record: string, delimiter: string, index: number): string | undefined {
  let start = 0;
  for (let n = 0; n < index; n++) {
    const end = record.indexOf(delimiter, start);
    if (end < 0) return undefined;
    start = end + 1;
  }
  const end = record.indexOf(delimiter, start);
  return end < 0 ? record.slice(start) : record.slice(start, end);
}

/** The first `count` fields of a record without quotes (fewer if it has fewer). */
function leadingFields(record: string, delimiter: string, count: number): string[] {
  const values: string[] = [];
  let start = 0;
  while (values.length < count) {
    const end = record.indexOf(delimiter, start);
    if (end < 0) {
      values.push(record.slice(start));
      break;
    }
    values.push(record.slice(start, end));
    start = end + 1;
  }
  return values;
}

function countFields(record: string, delimiter: string): number {
  let count = 1;
  for (let at = record.indexOf(delimiter); at >= 0; at = record.indexOf(delimiter, at + 1)) count++;
  return count;
}

/**
 * The fields of CSV records: records without quotes split at the delimiter,
 * the others parsed together by `csv-parse` (one call for all of them).
 */
async function parseCsv(
  raw: readonly string[],
  lines: readonly number[],
  delimiter: string,
  label: string,
): Promise<string[][]> {
  const result = new Array<string[]>(raw.length);
  const quoted: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i].includes('"')) quoted.push(i);
    else result[i] = raw[i].split(delimiter);
  }
  if (quoted.length === 0) return result;
  const { parse } = await import("csv-parse/sync");
  let parsed: string[][];
  try {
    parsed = parse(quoted.map((i) => raw[i]).join("\n"), {
      delimiter,
      relax_column_count: true,
    }) as string[][];
  } catch (error) {
    // Name the first record csv-parse refuses, parsing them one at a time.
    for (const i of quoted) {
      try {
        parse(raw[i], { delimiter, relax_column_count: true });
      } catch (inner) {
        throw new PivotError(
          `${label}:${lines[i]}: not valid CSV: ${(inner as Error).message.split("\n")[0]}`,
        );
      }
    }
    throw new PivotError(`${label}: not valid CSV: ${(error as Error).message.split("\n")[0]}`);
  }
  if (parsed.length !== quoted.length) {
    throw new PivotError(`${label}:${lines[quoted[0]]}: not valid CSV: unbalanced quotes`);
  }
  quoted.forEach((i, n) => result[i] = parsed[n]);
  return result;
}

/** A source of records: batches of complete records (in CSV, line breaks inside quotes kept). */
interface LineSource {
  next(): Promise<RecordBatch | undefined>;
  close(): Promise<void>;
}

/**
 * Split a byte stream into CSV records. Blank lines are skipped; a line
 * break inside quotes continues the record; a `\r` before a line break is
 * dropped; a leading byte-order mark is dropped (TextDecoder does that).
 */
function csvLines(stream: ReadableStream<Uint8Array>): LineSource {
  let line = 0;
  // A record still open (odd number of quotes) at the end of a chunk.
  let open: { text: string; line: number } | undefined;
  return lineBatches(stream, (parts, final) => {
    const raw: string[] = [];
    const lines: number[] = [];
    for (let part of parts) {
      line++;
      if (open) {
        open.text += "\n" + part;
        if (quotesIn(part) % 2 === 1) {
          const record = open.text;
          raw.push(record.endsWith("\r") ? record.slice(0, -1) : record);
          lines.push(open.line);
          open = undefined;
        }
        continue;
      }
      if (part.endsWith("\r")) part = part.slice(0, -1);
      if (part === "") continue;
      if (part.includes('"') && quotesIn(part) % 2 === 1) {
        open = { text: part, line };
        continue;
      }
      raw.push(part);
      lines.push(line);
    }
    if (final && open) {
      raw.push(open.text);
      lines.push(open.line);
      open = undefined;
    }
    return { raw, lines };
  });
}

/**
 * Batches of records from a byte stream read as UTF-8 text: `split` is given
 * the complete lines of each chunk (the last, unfinished one is kept for the
 * next chunk; `final` for the text after the stream's end) and returns the
 * records they hold. A batch with no record is not returned; reading goes on.
 */
function lineBatches(
  stream: ReadableStream<Uint8Array>,
  split: (parts: string[], final: boolean) => RecordBatch,
): LineSource {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let carry = "";
  let done = false;
  const batchOf = (text: string, final: boolean): RecordBatch => {
    const parts = text.split("\n");
    if (!final) carry = parts.pop()!;
    return split(parts, final);
  };
  return {
    next: async () => {
      while (!done) {
        const { value, done: end } = await reader.read();
        if (end) {
          done = true;
          const batch = batchOf(carry + decoder.decode(), true);
          carry = "";
          return batch.raw.length > 0 ? batch : undefined;
        }
        const batch = batchOf(carry + decoder.decode(value, { stream: true }), false);
        if (batch.raw.length > 0) return batch;
      }
      return undefined;
    },
    close: async () => {
      done = true;
      await reader.cancel().catch(() => {});
    },
  };
}

function quotesIn(text: string): number {
  let count = 0;
  for (let at = text.indexOf('"'); at >= 0; at = text.indexOf('"', at + 1)) count++;
  return count;
}

/** JSON Lines: one object a line; blank lines skipped. */
function jsonLinesTable(stream: ReadableStream<Uint8Array>, label: string): TableReader {
  let line = 0;
  const source = lineBatches(stream, (parts) => {
    const raw: string[] = [];
    const lines: number[] = [];
    for (let part of parts) {
      line++;
      if (part.endsWith("\r")) part = part.slice(0, -1);
      if (part.trim() === "") continue;
      raw.push(part);
      lines.push(line);
    }
    return { raw, lines };
  });
  const rows = (raw: readonly string[], at: readonly number[]): Row[] =>
    raw.map((text, i) => {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new PivotError(`${label}:${at[i]}: not valid JSON (${(error as Error).message})`);
      }
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new PivotError(`${label}:${at[i]}: expected an object (a row), got ${kindOf(value)}`);
      }
      return value as Row;
    });
  return {
    label,
    columns: undefined,
    header: undefined,
    next: source.next,
    rows: (raw, at) => Promise.resolve(rows(raw, at)),
    keys: (raw, at, columns) => Promise.resolve(rowKeys(rows(raw, at), at, columns, label)),
    close: source.close,
  };
}

/**
 * JSON: a list of objects, or an object holding exactly one such list (as
 * for plots). A JSON document cannot be split before it is parsed, so it is
 * read whole: memory grows with the file, unlike the other formats.
 */
async function jsonTable(stream: ReadableStream<Uint8Array>, label: string): Promise<TableReader> {
  const text = await new Response(stream).text();
  if (text.trim() === "") return emptyTable(label);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PivotError(`${label}: not valid JSON (${(error as Error).message})`);
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const lists = Object.values(value).filter(Array.isArray);
    if (lists.length === 1) value = lists[0];
  }
  if (!Array.isArray(value)) {
    throw new PivotError(`${label}: expected a list of rows (objects), got ${kindOf(value)}`);
  }
  const all = value.map((row, i) => {
    if (row === null || typeof row !== "object" || Array.isArray(row)) {
      throw new PivotError(`${label}: row ${i + 1}: expected an object, got ${kindOf(row)}`);
    }
    return row as Row;
  });
  let offset = 0;
  const index = new Map<string, Row>();
  return {
    label,
    columns: undefined,
    header: undefined,
    next: () => {
      if (offset >= all.length) return Promise.resolve(undefined);
      const slice = all.slice(offset, offset + BATCH);
      const raw = slice.map((row) => JSON.stringify(row));
      raw.forEach((text, i) => index.set(text, slice[i]));
      const lines = slice.map((_, i) => offset + i + 1);
      offset += slice.length;
      return Promise.resolve({ raw, lines });
    },
    rows: (raw) => Promise.resolve(raw.map((text) => index.get(text) ?? JSON.parse(text) as Row)),
    keys: (raw, at, columns) =>
      Promise.resolve(
        rowKeys(raw.map((text) => index.get(text) ?? JSON.parse(text) as Row), at, columns, label),
      ),
    close: () => Promise.resolve(),
  };
}

function rowKeys(
  rows: readonly Row[],
  at: readonly number[],
  columns: readonly string[],
  label: string,
): string[] {
  return rows.map((row, i) => {
    const values = columns.map((column) => {
      if (!Object.hasOwn(row, column)) {
        throw new PivotError(
          `${label}:${at[i]}: no key '${column}' to match rows by (this row has ${
            Object.keys(row).join(", ") || "no keys"
          })`,
        );
      }
      const value = row[column];
      return typeof value === "string" ? value : JSON.stringify(value);
    });
    return values.join(KEY_SEPARATOR);
  });
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
