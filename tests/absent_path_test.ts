/**
 * `surelyAbsent` (lib/absent_path.ts) says a path is absent exactly when
 * `Deno.statSync` would throw `NotFound`, never hides another answer, and
 * says nothing without FFI.
 */

import { statIfPresent, surelyAbsent } from "../lib/absent_path.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { output, test } from "./_harness.ts";

/** What `Deno.statSync` says of `path`: found, or the name of the error it throws. */
function statSays(path: string): string {
  try {
    Deno.statSync(path);
    return "found";
  } catch (error) {
    return (error as Error).constructor.name;
  }
}

test("a path is surely absent exactly when stat throws NotFound", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/file`, "x");
    Deno.mkdirSync(`${dir}/sub`);
    Deno.symlinkSync(`${dir}/gone`, `${dir}/dangling`);
    Deno.symlinkSync(`${dir}/file`, `${dir}/link`);
    const cases: [string, boolean, string][] = [
      [`${dir}/missing`, true, "NotFound"],
      [`${dir}/missing/deeper`, true, "NotFound"],
      [`${dir}/dangling`, true, "NotFound"],
      [`${dir}/file`, false, "found"],
      [`${dir}/sub`, false, "found"],
      [`${dir}/link`, false, "found"],
      // A file where a directory should be: stat throws another error, left to it.
      [`${dir}/file/below`, false, "NotADirectory"],
    ];
    for (const [path, absent, said] of cases) {
      assertEquals([path, statSays(path)], [path, said]);
      assertEquals([path, surelyAbsent(path)], [path, absent]);
    }
    // A NUL would cut the C string short (to `${dir}/file`): not told here.
    assertEquals(surelyAbsent(`${dir}/missing\0`), false);
    assertEquals(surelyAbsent(`${dir}/file\0missing`), false);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

test("statIfPresent answers as stat does, before and after it met an absent path", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/file`, "xy");
    // Twice: the first absence is found by a failing stat, the second by libc.
    for (let round = 0; round < 2; round++) {
      assertEquals(statIfPresent(`${dir}/file`)?.size, 2);
      assertEquals(statIfPresent(`${dir}/missing`), undefined);
      assertThrows(() => statIfPresent(`${dir}/file/below`), Deno.errors.NotADirectory);
    }
    // Made after a miss: found.
    Deno.writeTextFileSync(`${dir}/missing`, "now");
    assert(statIfPresent(`${dir}/missing`)?.isFile);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

test("without FFI nothing is said absent, and callers stat as before", async () => {
  const module = new URL("../lib/absent_path.ts", import.meta.url).href;
  const dir = Deno.makeTempDirSync();
  try {
    const script = `${dir}/probe.ts`;
    Deno.writeTextFileSync(
      script,
      `import { surelyAbsent } from "${module}";\n` +
        `console.log(surelyAbsent("${dir}/missing"));\n`,
    );
    const result = await output(Deno.execPath(), {
      args: ["run", "--allow-read", "--no-config", script],
    });
    assertEquals(result.code, 0, new TextDecoder().decode(result.stderr));
    assertEquals(new TextDecoder().decode(result.stdout).trim(), "false");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
