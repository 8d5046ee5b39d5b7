/**
 * `readDirEntries` (lib/libc_fs.ts) reads a directory through libc's
 * `getdents64` as `Deno.readDirSync` reads it: the same names and types,
 * the same errors, more records than one buffer holds, and `listFiles`
 * gives the same list with it. `statStamp` gives `Deno.statSync`'s stamp
 * and device (sub-ms and pre-1970 mtimes too), and nothing where it fails.
 * `readSmall` reads a file as `readSmallFile` does (the same bytes, stamps
 * and errors, a file that changes while read noticed), and `writeObjectFile`
 * makes a whole read-only object or leaves nothing.
 */

import { readDirEntries, readSmall, statStamp, writeObjectFile } from "../lib/libc_fs.ts";
import { listFiles } from "../lib/dir_walk.ts";
import { readSmallFile, SMALL_FILE } from "../lib/storage/artifact_hash.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { output, spawn, test } from "./_harness.ts";

/** Entries as sorted `name type` lines, whoever read them. */
function described(entries: Iterable<{ name: string; isDirectory: boolean; isSymlink: boolean }>) {
  return [...entries].map((e) => `${e.name} ${e.isDirectory ? "d" : e.isSymlink ? "l" : "f"}`)
    .sort();
}

/** Glibc on Linux (where the CLI's child reads through libc). */
const libcHere = Deno.build.os === "linux" && (() => {
  try {
    Deno.dlopen("libc.so.6", {}).close();
    return true;
  } catch {
    return false;
  }
})();

test("a directory's entries are Deno.readDirSync's: files, directories, links, UTF-8 names", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/file.txt`, "x");
    Deno.writeTextFileSync(`${dir}/été 日本.txt`, "y");
    Deno.mkdirSync(`${dir}/sub`);
    Deno.mkdirSync(`${dir}/ünï`);
    Deno.symlinkSync(`${dir}/file.txt`, `${dir}/to_file`);
    Deno.symlinkSync(`${dir}/sub`, `${dir}/to_dir`);
    Deno.symlinkSync(`${dir}/gone`, `${dir}/dangling`);
    const read = readDirEntries(dir);
    // Read through libc, not handed to Deno.readDirSync (whose answer is an iterator).
    if (libcHere) assert(Array.isArray(read));
    assertEquals(described(read), described(Deno.readDirSync(dir)));
    assertEquals(described(read), [
      "dangling l",
      "file.txt f",
      "sub d",
      "to_dir l",
      "to_file l",
      "été 日本.txt f",
      "ünï d",
    ]);
    // With or without a trailing slash; an empty directory.
    assertEquals(described(readDirEntries(`${dir}/`)), described(read));
    assertEquals([...readDirEntries(`${dir}/sub`)], []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

test("more entries than one buffer of records holds are all read", () => {
  const dir = Deno.makeTempDirSync();
  try {
    // 1,000 records of ~180 bytes: three 64 KiB reads.
    const long = "n".repeat(150);
    for (let i = 0; i < 1000; i++) Deno.writeTextFileSync(`${dir}/${long}${i}`, "");
    const read = described(readDirEntries(dir));
    assertEquals(read.length, 1000);
    assertEquals(read, described(Deno.readDirSync(dir)));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

test("what cannot be read throws as Deno.readDirSync throws", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/file`, "x");
    Deno.symlinkSync(`${dir}/gone`, `${dir}/dangling`);
    assertThrows(() => readDirEntries(`${dir}/missing`), Deno.errors.NotFound);
    assertThrows(() => readDirEntries(`${dir}/dangling`), Deno.errors.NotFound);
    assertThrows(() => readDirEntries(`${dir}/file`), Deno.errors.NotADirectory);
    assertThrows(() => Deno.readDirSync(`${dir}/file`), Deno.errors.NotADirectory);
    // A NUL would cut the C string short: Deno's answer.
    assertThrows(() => readDirEntries(`${dir}\0/x`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

test("listFiles through readDirEntries gives the list Deno.readDirSync gives", () => {
  const dir = Deno.makeTempDirSync();
  try {
    for (const sub of ["a", "a/b", "c", "é"]) Deno.mkdirSync(`${dir}/${sub}`);
    for (const file of ["x", "a/y", "a/b/z", "c/w", "é/v", "a.txt", "Z"]) {
      Deno.writeTextFileSync(`${dir}/${file}`, file);
    }
    Deno.symlinkSync(`${dir}/a/b`, `${dir}/c/link`);
    const plain = listFiles(dir);
    assertEquals(listFiles(dir, undefined, undefined, readDirEntries), plain);
    assertEquals(plain.length, 8);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

test("without FFI Deno.readDirSync reads", async () => {
  const module = new URL("../lib/libc_fs.ts", import.meta.url).href;
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/file`, "x");
    const script = `${dir}/probe.ts`;
    Deno.writeTextFileSync(
      script,
      `import { readDirEntries } from "${module}";\n` +
        `const read = readDirEntries("${dir}");\n` +
        `console.log(Array.isArray(read), [...read].map((e) => e.name).sort().join(","));\n`,
    );
    const result = await output(Deno.execPath(), {
      args: ["run", "--allow-read", "--no-config", script],
    });
    assertEquals(result.code, 0, new TextDecoder().decode(result.stderr));
    assertEquals(new TextDecoder().decode(result.stdout).trim(), "false file,probe.ts");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** `Deno.statSync`'s stamp and device of `path`, or the name of the error it throws. */
function denoSays(path: string): string {
  try {
    const info = Deno.statSync(path);
    return JSON.stringify([info.mtime?.getTime() ?? 0, info.size, info.ino ?? 0, info.dev]);
  } catch (error) {
    return (error as Error).constructor.name;
  }
}

/** {@link statStamp}'s answer in {@link denoSays}'s form ("none" for undefined). */
function libcSays(path: string): string {
  const stamp = statStamp(path);
  return stamp === undefined
    ? "none"
    : JSON.stringify([stamp.mtime, stamp.size, stamp.ino, stamp.dev]);
}

test("statStamp gives Deno.statSync's stamp and device, and nothing where stat fails", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/file`, "hello");
    Deno.mkdirSync(`${dir}/sub`);
    Deno.symlinkSync(`${dir}/file`, `${dir}/link`);
    Deno.symlinkSync(`${dir}/sub`, `${dir}/dirlink`);
    Deno.symlinkSync(`${dir}/gone`, `${dir}/dangling`);
    // mtimes to the ns (touch -d): sub-ms, before 1970 (Deno's ms go toward zero), late.
    const times: [string, string, number][] = [
      ["sub_ms", "2020-01-01 00:00:00.9999", 1577836800999],
      ["before_1970", "1969-12-31 23:59:59.0001", -999],
      ["long_before", "1960-01-01 00:00:00.5005", -315619199499],
      ["whole_before", "1969-12-31 23:59:58", -2000],
      ["late", "2200-06-01 12:00:00.123456789", 7271208000123],
    ];
    for (const [name, at] of times) {
      Deno.writeTextFileSync(`${dir}/${name}`, name);
      const touched = await output("touch", {
        args: ["-d", at, `${dir}/${name}`],
        env: { TZ: "UTC" },
      });
      assertEquals(touched.code, 0, new TextDecoder().decode(touched.stderr));
    }
    for (const [name, , ms] of times) {
      assertEquals([name, Deno.statSync(`${dir}/${name}`).mtime?.getTime()], [name, ms]);
    }
    const found = ["file", "sub", "link", "dirlink", ...times.map(([name]) => name)];
    for (const name of found) {
      const path = `${dir}/${name}`;
      assertEquals([name, libcHere ? libcSays(path) : "none"], [
        name,
        libcHere ? denoSays(path) : "none",
      ]);
    }
    // Where stat fails, nothing (the caller asks Deno.statSync, which throws as before).
    const failing: [string, string][] = [
      ["missing", "NotFound"],
      ["dangling", "NotFound"],
      ["file/below", "NotADirectory"],
    ];
    for (const [name, error] of failing) {
      assertEquals([name, denoSays(`${dir}/${name}`)], [name, error]);
      assertEquals([name, libcSays(`${dir}/${name}`)], [name, "none"]);
    }
    assertEquals(libcSays(`${dir}/file\0x`), "none");
    // Relative to the working directory, as Deno.statSync.
    const relative = await output(Deno.execPath(), {
      args: [
        "eval",
        `import { statStamp } from "${new URL("../lib/libc_fs.ts", import.meta.url).href}";` +
        `console.log(statStamp("file")?.size ?? "none");`,
      ],
      cwd: dir,
    });
    assertEquals(new TextDecoder().decode(relative.stdout).trim(), libcHere ? "5" : "none");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

test("readSmall gives readSmallFile's bytes and stamps, and nothing for what it cannot read", () => {
  if (!libcHere) return;
  const dir = Deno.makeTempDirSync();
  try {
    for (const size of [0, 1, 10, 65_537, SMALL_FILE]) {
      const path = `${dir}/f${size}`;
      const bytes = new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff);
      Deno.writeFileSync(path, bytes);
      const read = readSmall(path, SMALL_FILE)!;
      assertEquals(read.bytes, bytes, `size ${size}`);
      const deno = readSmallFile(path, false);
      assertEquals(readSmallFile(path, true), deno, `size ${size}`);
      assertEquals({ mtime: read.mtime, size: read.size, ino: read.ino }, deno.stamp);
      assertEquals(read.dev, Deno.statSync(path).dev);
    }
    // Over the limit: the stamp only.
    Deno.writeFileSync(`${dir}/big`, new Uint8Array(SMALL_FILE + 1));
    assertEquals(readSmall(`${dir}/big`, SMALL_FILE)?.bytes, undefined);
    assertEquals(readSmall(`${dir}/big`, SMALL_FILE)?.size, SMALL_FILE + 1);
    assertEquals(readSmallFile(`${dir}/big`, true), readSmallFile(`${dir}/big`, false));
    // Missing, a directory, unreadable: nothing here, Deno's own error from readSmallFile.
    Deno.mkdirSync(`${dir}/sub`);
    Deno.writeTextFileSync(`${dir}/locked`, "secret");
    Deno.chmodSync(`${dir}/locked`, 0o000);
    const unreadable = Deno.uid() === 0 ? [] : [`${dir}/locked`]; // root reads anything
    for (const path of [`${dir}/gone`, `${dir}/sub`, ...unreadable]) {
      assertEquals(readSmall(path, SMALL_FILE), undefined, path);
      const deno = assertThrows(() => readSmallFile(path, false));
      const viaLibc = assertThrows(() => readSmallFile(path, true));
      assertEquals(String(viaLibc), String(deno), path);
    }
  } finally {
    Deno.chmodSync(`${dir}/locked`, 0o644);
    Deno.removeSync(dir, { recursive: true });
  }
});

test("readSmall of a file growing while read: bytes only when they match its stamp", async () => {
  if (!libcHere) return;
  const dir = Deno.makeTempDirSync();
  try {
    // Another process appends all the while: a read between its writes is
    // whole (its bytes the stamp's size); one across a write is noticed
    // (no bytes, and the stamp the file's after the read).
    const path = `${dir}/growing`;
    Deno.writeTextFileSync(path, "start\n");
    const child = spawn("sh", { args: ["-c", `while :; do printf x >> '${path}'; done`] });
    let changed = 0;
    try {
      for (let i = 0; i < 500; i++) {
        const read = readSmall(path, SMALL_FILE)!;
        if (read.bytes === undefined) {
          changed++;
          assert(read.size >= 6);
          continue;
        }
        assertEquals(read.bytes.length, read.size);
        assertEquals(new TextDecoder().decode(read.bytes.subarray(0, 6)), "start\n");
        assert(read.bytes.subarray(6).every((b) => b === 0x78));
      }
    } finally {
      child.kill();
      await child.status;
    }
    assert(changed < 500, "most reads fall between two appends");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

test("writeObjectFile makes a complete read-only object with its stamp, or nothing", () => {
  if (!libcHere) return;
  const dir = Deno.makeTempDirSync();
  const old = Deno.umask(0o077); // a umask that would strip the read bits of others
  try {
    const bytes = new TextEncoder().encode("content\n");
    const made = writeObjectFile(`${dir}/o1.tmp`, `${dir}/o1`, bytes)!;
    const info = Deno.statSync(`${dir}/o1`);
    assertEquals(info.mode! & 0o777, 0o444);
    assertEquals(Deno.readFileSync(`${dir}/o1`), bytes);
    assertEquals(made, { mtime: info.mtime!.getTime(), size: 8, ino: info.ino!, dev: info.dev });
    // Empty content.
    assertEquals(writeObjectFile(`${dir}/e.tmp`, `${dir}/e`, new Uint8Array(0))?.size, 0);
    // Already there: not made (the caller's rename replaces it), left as it was.
    assertEquals(
      writeObjectFile(`${dir}/o1.tmp`, `${dir}/o1`, new TextEncoder().encode("other")),
      undefined,
    );
    assertEquals(Deno.readFileSync(`${dir}/o1`), bytes);
    // No such directory: nothing made anywhere.
    assertEquals(writeObjectFile(`${dir}/none/o2.tmp`, `${dir}/none/o2`, bytes), undefined);
    // And the next object is made as before (a failure does not turn the way off).
    assert(writeObjectFile(`${dir}/o3.tmp`, `${dir}/o3`, bytes) !== undefined);
    assertEquals(Deno.statSync(`${dir}/o3`).mode! & 0o777, 0o444);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["e", "o1", "o3"]);
  } finally {
    Deno.umask(old);
    Deno.removeSync(dir, { recursive: true });
  }
});
