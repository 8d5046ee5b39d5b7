/**
 * The UI server over HTTP, without a browser: who gets in (token, cookie,
 * Host, Origin), what malformed requests get, the JSON API and the event
 * stream, on a real `pivot ui` process.
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { afterAll, beforeAll, test } from "../_harness.ts";
import { TempProject } from "../_project.ts";
import { EventStream, UiProcess } from "./_ui.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import { shout } from "./lib/helper.ts";
export const pipeline = new Pipeline("served");
pipeline.stage({
  name: "first",
  deps: { src: dep("data/input.txt", loaders.text()) },
  outs: { o: out("build/first.txt", loaders.text()) },
  run: ({ src }) => {
    console.log("first says hello");
    return { o: shout(src) };
  },
});
pipeline.stage({
  name: "second",
  deps: { f: dep("build/first.txt", loaders.text()) },
  outs: { o: out("build/second.txt", loaders.text()) },
  params: { n: 1 },
  run: ({ f }, { params }) => ({ o: f.repeat(params.n) }),
});
`;

const HELPER = `export function shout(text: string): string {
  return text.toUpperCase();
}
`;

let shared: { project: TempProject; ui: UiProcess } | undefined;

// One project and one server for the whole file, started outside any test so
// that no test owns (and must stop) the process.
beforeAll(async () => {
  const project = await TempProject.create({
    "pipeline.ts": PIPELINE,
    "lib/helper.ts": HELPER,
    "data/input.txt": "hi",
  });
  shared = { project, ui: await UiProcess.start(project.root) };
});

afterAll(async () => {
  if (!shared) return;
  const code = await shared.ui.stop();
  await shared.project.dispose();
  assertEquals(code, 0, shared.ui.output);
});

/** The file's project and server. */
function server(): { project: TempProject; ui: UiProcess } {
  if (!shared) throw new Error("the server did not start (see beforeAll)");
  return shared;
}

test("ui: prints a loopback URL with a long random token", () => {
  const { ui } = server();
  assertMatch(ui.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
});

test("ui: a request without a token, or with a wrong one, is refused", async () => {
  const { ui } = server();
  for (const path of ["/", "/api/snapshot", "/assets/page.js", "/api/events"]) {
    const bare = await fetch(ui.origin + path);
    await bare.body?.cancel();
    assertEquals(bare.status, 403, path);
  }
  const wrong = await fetch(`${ui.origin}/?token=${"0".repeat(48)}`);
  assertEquals(wrong.status, 403);
  assertMatch(await wrong.text(), /wrong token/);
  const wrongHeader = await ui.fetch("/api/snapshot", { headers: { authorization: "token nope" } });
  assertEquals(wrongHeader.status, 403);
  await wrongHeader.body?.cancel();
  const wrongCookie = await fetch(`${ui.origin}/api/snapshot`, {
    headers: { cookie: `pivot-ui-${ui.port}=${"f".repeat(48)}` },
  });
  assertEquals(wrongCookie.status, 403);
  await wrongCookie.body?.cancel();
});

test("ui: the token in the URL is traded for an HttpOnly, SameSite=Strict cookie", async () => {
  const { ui } = server();
  const first = await fetch(ui.url, { redirect: "manual" });
  await first.body?.cancel();
  assertEquals(first.status, 303);
  assertEquals(first.headers.get("location"), "/");
  const cookie = first.headers.get("set-cookie") ?? "";
  assertMatch(cookie, new RegExp(`^pivot-ui-${ui.port}=${ui.token};`));
  assertMatch(cookie, /HttpOnly/);
  assertMatch(cookie, /SameSite=Strict/);
  const page = await fetch(`${ui.origin}/`, { headers: { cookie: cookie.split(";")[0] } });
  assertEquals(page.status, 200);
  const html = await page.text();
  assertMatch(html, /<script defer src="\/assets\/page\.js\?v=[0-9a-f]+"><\/script>/);
  assertMatch(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
});

test("ui: a foreign Host is refused (DNS rebinding), even with the token", async () => {
  const { ui } = server();
  // fetch() will not forge a Host header: speak HTTP by hand.
  for (const host of [`evil.example:${ui.port}`, `evil.example`, `127.0.0.1:${ui.port + 1}`]) {
    const response = await rawRequest(
      ui.port,
      `GET /api/snapshot HTTP/1.1\r\nHost: ${host}\r\nAuthorization: token ${ui.token}\r\n` +
        `Connection: close\r\n\r\n`,
    );
    assertMatch(response, /^HTTP\/1\.1 403/, host);
  }
  const own = await rawRequest(
    ui.port,
    `GET /api/snapshot HTTP/1.1\r\nHost: localhost:${ui.port}\r\nAuthorization: token ${ui.token}\r\n` +
      `Connection: close\r\n\r\n`,
  );
  assertMatch(own, /^HTTP\/1\.1 200/);
});

test("ui: a request from another origin is refused, even with the cookie", async () => {
  const { ui } = server();
  for (const origin of ["http://evil.example", `http://127.0.0.1:${ui.port + 1}`, "null"]) {
    const response = await ui.fetch("/api/run", {
      method: "POST",
      headers: { origin, "content-type": "application/json" },
      body: "{}",
    });
    assertEquals(response.status, 403, origin);
    await response.body?.cancel();
  }
});

test("ui: malformed requests get a 4xx and the server goes on", async () => {
  const { ui } = server();
  const cases: [string, RequestInit, number][] = [
    ["/api/nothing", {}, 404],
    ["/api/stage", {}, 400],
    ["/api/stage?name=nope", {}, 404],
    [
      "/api/run",
      { method: "POST", headers: { "content-type": "application/json" }, body: "{" },
      400,
    ],
    ["/api/run", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }, 415],
    [
      "/api/run",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ stages: "first" }),
      },
      400,
    ],
    [
      "/api/run",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ stages: ["nope"] }),
      },
      404,
    ],
    [
      "/api/run",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "x".repeat(70_000),
      },
      413,
    ],
    ["/api/run", {}, 405],
    ["/api/snapshot", { method: "DELETE" }, 405],
  ];
  for (const [path, init, status] of cases) {
    const response = await ui.fetch(path, init);
    const body = await response.json();
    assertEquals(response.status, status, `${init.method ?? "GET"} ${path}: ${body.error}`);
    assert(typeof body.error === "string" && body.error.length > 0);
  }
  for (
    const garbage of [
      "\x00\x01\x02 not http\r\n\r\n",
      "GET /%zz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${ui.port}\r\nContent-Length: nope\r\n\r\n`,
    ]
  ) {
    const response = await rawRequest(ui.port, garbage);
    assertMatch(response, /^HTTP\/1\.1 4\d\d/, JSON.stringify(garbage));
  }
  // Still serving.
  const snapshot = await ui.json<{ stages: unknown[] }>("/api/snapshot");
  assertEquals(snapshot.stages.length, 2);
});

test("ui: the snapshot has the graph and every stage's predicted status", async () => {
  const { ui } = server();
  await ui.until(async () => {
    const s = await ui.json<{ states: Record<string, { status: string }> }>("/api/snapshot");
    return s.states.first?.status !== "checking" && s.states.second?.status !== "checking";
  }, "the first prediction");
  const snapshot = await ui.json<{
    project: { name: string };
    mode: string;
    stages: { name: string; upstream: string[]; deps: string[] }[];
    states: Record<string, { status: string; reasons: string[] }>;
  }>("/api/snapshot");
  assertEquals(snapshot.project.name, "served");
  assertEquals(snapshot.mode, "ui");
  assertEquals(snapshot.stages.map((s) => [s.name, s.upstream]), [
    ["first", []],
    ["second", ["first"]],
  ]);
  if (snapshot.states.first.status === "will-run") {
    // Not run yet in this file (tests may run in any order).
    assertEquals(snapshot.states.first.reasons, ["never-run"]);
    assertEquals(snapshot.states.second.reasons, ["never-run", "upstream"]);
  }
});

test("ui: a run asked for over the API streams its events; the stage panel has its log", async () => {
  const { ui } = server();
  const events = await EventStream.open(ui);
  try {
    const snapshot = await events.next((m) => m.type === "snapshot", "a snapshot");
    assert((snapshot.snapshot as { stages: unknown[] }).stages.length === 2);
    const queued = await ui.json<{ queued: boolean }>("/api/run", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ stages: ["second"], force: true }),
    });
    assertEquals(queued.queued, true);
    const running = await events.next(
      (m) =>
        m.type === "states" &&
        (m.states as Record<string, { status: string }>).second?.status === "running",
      "second running",
    );
    assert(typeof running.t === "number" && typeof running.seq === "number");
    await events.next(
      (m) =>
        m.type === "states" &&
        (m.states as Record<string, { status: string }>).second?.status === "ran",
      "second ran",
    );
    await events.next(
      (m) => m.type === "wave" && (m.wave as { running: boolean }).running === false,
      "the wave's end",
    );
    const detail = await ui.json<{
      state: { status: string };
      runs: { status: string }[];
      explain: { status: string };
    }>("/api/stage?name=second");
    assertEquals(detail.state.status, "ran");
    assertEquals(detail.runs[0]?.status, "ran");
    // first ran too (it was stale, or up to date and skipped): its log is kept when it ran.
    const first = await ui.json<
      { log: { lines: { text: string }[] } | null; state: { status: string } }
    >(
      "/api/stage?name=first",
    );
    if (first.state.status === "ran") {
      assertEquals(first.log?.lines.map((l) => l.text), ["first says hello"]);
    }
  } finally {
    await events.close();
  }
});

test("ui: the layout, by dagre on the server, places every stage and routes every link", async () => {
  const { ui } = server();
  for (const direction of ["TB", "LR"]) {
    const { version, layout } = await ui.json<{
      version: number;
      layout: {
        direction: string;
        nodes: { name: string; x: number; y: number }[];
        edges: { from: string; to: string; points: unknown[] }[];
      };
    }>(`/api/layout?direction=${direction}`);
    assertEquals(version, 1);
    assertEquals(layout.direction, direction);
    assertEquals(layout.nodes.map((n) => n.name).sort(), ["first", "second"]);
    assertEquals(layout.edges.map((e) => [e.from, e.to]), [["first", "second"]]);
    assert(layout.edges[0].points.length >= 2);
    const [first, second] = ["first", "second"].map((name) =>
      layout.nodes.find((n) => n.name === name)!
    );
    // Upstream first: above, or to the left.
    assert(direction === "TB" ? first.y < second.y : first.x < second.x);
  }
  const bad = await ui.fetch("/api/layout?direction=up");
  assertEquals(bad.status, 400);
  await bad.body?.cancel();
});

test("ui: /plots is the plots page, framed by the UI only; a bad revision is refused", async () => {
  const { ui } = server();
  const page = await ui.fetch("/plots");
  assertEquals(page.status, 200);
  assertMatch(await page.text(), /declares no plot/);
  assertMatch(page.headers.get("content-security-policy") ?? "", /frame-ancestors 'self'/);
  assertEquals(page.headers.get("x-frame-options"), "SAMEORIGIN");
  for (const rev of ["--output=/tmp/x", "a b", ""]) {
    const bad = await ui.fetch(`/plots?rev=${encodeURIComponent(rev)}`);
    assertEquals(bad.status, 400, rev);
    await bad.body?.cancel();
  }
});

test("ui: /api/metrics of a project without metrics or git says so", async () => {
  const { ui } = server();
  const answer = await ui.json<{
    base: string;
    rows: unknown[];
    files: unknown[];
    baseProblem?: string;
  }>("/api/metrics");
  assertEquals([answer.base, answer.rows, answer.files], ["HEAD", [], []]);
  assertMatch(answer.baseProblem ?? "", /git/);
});

test("ui: cancel answers whether a wave was running", async () => {
  const { ui } = server();
  const reply = await ui.json<{ cancelled: boolean }>("/api/cancel", { method: "POST" });
  assertEquals(typeof reply.cancelled, "boolean");
});

test("ui: bad options and a busy port are one-line errors with exit code 2", async () => {
  const { project, ui } = server();
  const cases: [string[], RegExp][] = [
    [["ui", "--port", "abc"], /^error: ui: --port expects an integer ≥ 0, got 'abc'$/],
    [["ui", "--port", "70000"], /^error: ui: --port expects a port from 0 to 65535/],
    [["ui", "--host", "a b"], /^error: ui: --host expects a host name or IP address/],
    [["ui", "extra"], /^error: ui: unexpected argument 'extra'/],
    [
      ["ui", "--no-open", "--port", String(ui.port)],
      new RegExp(`^error: port ${ui.port} on 127\\.0\\.0\\.1 is in use`),
    ],
    [["repro", "--ui"], /^error: repro: --ui needs --watch$/],
    [
      ["repro", "--watch", "--port", "1"],
      /^error: repro: --port, --host and --no-open need --watch --ui$/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const result = await project.pivot(...args);
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    const lines = result.stderr.trim().split("\n");
    assertEquals(lines.length, 1, result.stderr);
    assertMatch(lines[0], pattern);
  }
});

/** Send `text` on a new TCP connection to the server; resolves with what it answers. */
async function rawRequest(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(text));
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(4096);
    const deadline = setTimeout(() => conn.close(), 5_000);
    try {
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) break;
        chunks.push(buffer.slice(0, n));
        if (new TextDecoder().decode(chunks.at(-1)).includes("\r\n\r\n")) break;
      }
    } catch {
      // closed by the deadline
    } finally {
      clearTimeout(deadline);
    }
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}
