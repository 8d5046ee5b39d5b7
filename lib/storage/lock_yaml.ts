/**
 * A lock file's YAML written without the `yaml` package, for the shapes lock
 * files nearly always have: maps and lists of maps holding plain strings
 * (paths, hashes, manifest keys), integers, booleans and nulls, and hashes
 * that read as numbers (double-quoted, as `yaml` writes them). The text is
 * exactly what `yaml`'s `stringify(data, { lineWidth: 0 })` writes for the
 * same value (`tests/storage/lock_yaml_test.ts` compares the two); anything
 * outside those shapes, or a string `yaml` might quote, gets `undefined`, and
 * the caller uses `yaml`.
 *
 * Why: `yaml`'s stringify took 0.15–0.6 ms for a lock file of a few lines,
 * on the main thread, once a stage; on a chain of 2,000 stages that was
 * 0.3–1.2 s of a full run (docs/performance.md, "Full runs, fifth session").
 *
 * @module
 */

/** Characters a plain scalar of ours may hold (no space, quote, bracket or comma). */
const PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./:#@+-]*$/;

/**
 * Strings YAML 1.2's core schema (what `yaml` writes) would read as another
 * type, so `yaml` quotes them; the YAML 1.1 words too, to be safe.
 */
const NOT_A_STRING = [
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^(?:[Yy]es|YES|[Nn]o|NO|[Oo]n|ON|[Oo]ff|OFF|[YyNn])$/,
  /^[-+]?[0-9][0-9_]*$/,
  /^0o[0-7]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/,
  /^[-+]?\.(?:inf|Inf|INF)$/,
  /^\.(?:nan|NaN|NAN)$/,
];

/**
 * Digits, with at most one exponent mark between them: a hash that YAML's
 * core schema reads as an integer or a float (`1234567890123456`,
 * `12345e7890123456`), which `yaml` writes double-quoted. About one
 * 16-hex-digit hash in 800 is one; a 176-stage run makes 176 new ones, so
 * about one run in five met one, and loading `yaml` for it cost ~650 file
 * lookups in the middle of the wave.
 */
const NUMERAL = /^[0-9]+(?:[eE][0-9]+)?$/;

/** Longest key or string written here (`yaml` writes keys over 1,024 characters explicitly). */
const MAX_PLAIN = 512;

function plain(text: string): boolean {
  return text.length <= MAX_PLAIN && PLAIN.test(text) && !text.endsWith(":") &&
    !NOT_A_STRING.some((pattern) => pattern.test(text));
}

/** A scalar as `yaml` writes it, or undefined when it is not one of ours. */
function scalar(value: unknown): string | undefined {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      if (plain(value)) return value;
      // Nothing in it to escape: `yaml` writes it so too.
      return value.length <= MAX_PLAIN && NUMERAL.test(value) ? `"${value}"` : undefined;
    case "number":
      return Number.isSafeInteger(value) && !Object.is(value, -0) ? String(value) : undefined;
    case "boolean":
      return String(value);
    default:
      return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** `key: value` lines of a map of scalars at `indent`; false when one is not ours. */
function scalarEntries(map: Record<string, unknown>, indent: string, lines: string[]): boolean {
  for (const [key, value] of Object.entries(map)) {
    const text = scalar(value);
    if (text === undefined || !plain(key)) return false;
    lines.push(`${indent}${key}: ${text}`);
  }
  return true;
}

/**
 * The YAML of a lock file's canonical content (a map whose values are
 * scalars, maps of scalars or lists of maps of scalars), as `yaml` writes
 * it; undefined when `data` holds anything else.
 *
 * @example
 * ```ts
 * lockYaml({ deps: [{ hash: "ab12", path: "a.txt" }], params: {} });
 * // "deps:\n  - hash: ab12\n    path: a.txt\nparams: {}\n"
 * ```
 */
export function lockYaml(data: object): string | undefined {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (!plain(key)) return undefined;
    if (Array.isArray(value)) {
      if (value.length === 0) {
        lines.push(`${key}: []`);
        continue;
      }
      lines.push(`${key}:`);
      for (const item of value) {
        if (!isRecord(item)) return undefined;
        const entries: string[] = [];
        if (!scalarEntries(item, "    ", entries) || entries.length === 0) return undefined;
        entries[0] = `  - ${entries[0].slice(4)}`;
        lines.push(...entries);
      }
    } else if (isRecord(value)) {
      if (Object.keys(value).length === 0) {
        lines.push(`${key}: {}`);
        continue;
      }
      lines.push(`${key}:`);
      if (!scalarEntries(value, "  ", lines)) return undefined;
    } else {
      const text = scalar(value);
      if (text === undefined) return undefined;
      lines.push(`${key}: ${text}`);
    }
  }
  return lines.length === 0 ? "{}\n" : lines.join("\n") + "\n";
}
