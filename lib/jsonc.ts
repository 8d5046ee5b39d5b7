/**
 * JSON with comments and trailing commas, as Deno reads `deno.json` and
 * `deno.jsonc`.
 *
 * @module
 */

/**
 * JSON with comments and trailing commas (as `deno.jsonc` allows) → JSON.
 * Text that already is JSON is returned as it is: it can hold neither (a `//`
 * or `/*` in it is inside a string), and the character loops below cost a
 * start-up about 3 ms of CPU on Pivot's own 2 KB `deno.json` (run cold, once).
 */
export function stripJsonc(text: string): string {
  if (isJson(text)) return text;
  return dropTrailingCommas(dropComments(text));
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The JSON(C) object in the file at `path`, or undefined when the file cannot
 * be read, is not JSON(C), or holds something other than an object.
 *
 * @example
 * ```ts ignore
 * readJsoncObject("/home/me/project/deno.json")?.imports;
 * ```
 */
export function readJsoncObject(path: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(stripJsonc(Deno.readTextFileSync(path)));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The end index of the string literal starting at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
  return i;
}

function dropComments(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end + 1);
      i = end;
    } else if (text[i] === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (text[i] === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else {
      out += text[i];
    }
  }
  return out;
}

function dropTrailingCommas(json: string): string {
  let out = "";
  for (let i = 0; i < json.length; i++) {
    if (json[i] === '"') {
      const end = stringEnd(json, i);
      out += json.slice(i, end + 1);
      i = end;
    } else if (json[i] === ",") {
      let j = i + 1;
      while (j < json.length && /\s/.test(json[j])) j++;
      if (json[j] !== "}" && json[j] !== "]") out += ",";
    } else {
      out += json[i];
    }
  }
  return out;
}
