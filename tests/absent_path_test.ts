/**
 * `surelyAbsent` (lib/absent_path.ts) says a path is absent exactly when
 * `Deno.statSync` would throw `NotFound`, never hides another answer, and
 * says nothing without FFI.
 */

import { surelyAbsent } from "../lib/absent_path.ts";
import { assertEquals } from "./_assert.ts";
import { test } from "./_harness.ts";

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

test("without FFI nothing is said absent, and callers stat as before", async () => {
  const module = new URL("../lib/absent_path.ts", import.meta.url).href;
  const script = `import { surelyAbsent } from "${module}";\n` +
    `console.log(surelyAbsent("/nonexistent/pivot-absent-path-test"));\n`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--no-config", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = result.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const { code, stdout, stderr } = await result.output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  assertEquals(new TextDecoder().decode(stdout).trim(), "false");
});
