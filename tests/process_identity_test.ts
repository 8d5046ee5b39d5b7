import {
  parseIdentity,
  processState,
  selfIdentity,
  selfToken,
  tokenState,
} from "../lib/process_identity.ts";
import { assert, assertEquals } from "./_assert.ts";
import { spawn, test } from "./_harness.ts";

const linux = Deno.build.os === "linux";

test("this process is alive, with its start time and boot id on Linux", () => {
  const me = selfIdentity();
  assertEquals([me.pid, me.host], [Deno.pid, Deno.hostname()]);
  if (linux) {
    assert(Number.isInteger(me.start) && me.start! > 0, JSON.stringify(me));
    assert(/^[0-9a-f-]{36}$/.test(me.boot!), JSON.stringify(me));
  }
  assertEquals(processState(me), "alive");
  assertEquals(tokenState(selfToken()), "alive");
});

test("a live pid with another start time is gone: the pid was reused", { ignore: !linux }, () => {
  const me = selfIdentity();
  assertEquals(processState({ ...me, start: me.start! + 1 }), "gone");
  assertEquals(processState({ ...me, pid: 1, start: 123456789 }), "gone");
  assertEquals(tokenState(`${Deno.pid}-${me.start! + 1}`), "gone");
});

test("a record from another boot is gone, whatever its pid", { ignore: !linux }, () => {
  assertEquals(
    processState({ ...selfIdentity(), boot: "00000000-0000-0000-0000-000000000000" }),
    "gone",
  );
});

test("a record without a start time falls back to the pid", () => {
  assertEquals(processState({ pid: Deno.pid, host: Deno.hostname() }), "alive");
  const pidMax = linux ? Number(Deno.readTextFileSync("/proc/sys/kernel/pid_max")) : 4194304;
  assertEquals(processState({ pid: pidMax + 1, host: Deno.hostname() }), "gone");
  assertEquals(tokenState(String(pidMax + 1)), "gone");
});

test("a process of another host is elsewhere: nothing here can tell", () => {
  assertEquals(processState({ ...selfIdentity(), host: `not-${Deno.hostname()}` }), "elsewhere");
});

test("a process that has exited is gone", async () => {
  const child = spawn(Deno.execPath(), { args: ["eval", "0"], stdout: "null", stderr: "null" });
  const pid = child.pid;
  await child.status;
  // Its parent (this process) has reaped it, so the pid is free (or reused by another process).
  const state = processState({ pid, host: Deno.hostname(), start: 1 });
  assertEquals(state, "gone");
});

test("a token names a process that runs: a sleeping child's token is alive until it ends", {
  ignore: !linux,
}, async () => {
  const child = spawn("sleep", { args: ["30"], stdout: "null", stderr: "null" });
  const stat = Deno.readTextFileSync(`/proc/${child.pid}/stat`);
  const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  assertEquals(tokenState(`${child.pid}-${start}`), "alive");
  child.kill("SIGKILL");
  await child.status;
  assertEquals(tokenState(`${child.pid}-${start}`), "gone");
});

test("malformed tokens and records are recognised as such", () => {
  assertEquals(tokenState("abc"), "invalid");
  assertEquals(tokenState("12-"), "invalid");
  assertEquals(parseIdentity({ pid: "1", host: "h" }), undefined);
  assertEquals(parseIdentity({ pid: 1 }), undefined);
  assertEquals(parseIdentity(null), undefined);
  assertEquals(parseIdentity({ pid: 1, host: "h", start: 2.5 }), undefined);
  assertEquals(parseIdentity({ pid: 1, host: "h", start: 2, boot: "b", extra: 1 }), {
    pid: 1,
    host: "h",
    start: 2,
    boot: "b",
  });
});
