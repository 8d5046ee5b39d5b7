import { TempProject } from "../_project.ts";
import { WatchProcess } from "./_watch.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("served");
pipeline.stage({
  name: "first",
  deps: { src: dep("data/input.txt", loaders.text()) },
  outs: { o: out("build/first.txt", loaders.text()) },
  run: ({ src }) => ({ o: src + "1" }),
});
pipeline.stage({
  name: "second",
  deps: { f: dep("build/first.txt", loaders.text()) },
  outs: { o: out("build/second.txt", loaders.text()) },
  params: { n: 1 },
  run: async ({ f }, ctx) => {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ctx.params.n);
      ctx.signal.addEventListener("abort", () => { clearTimeout(timer); reject(ctx.signal.reason); });
    });
    return { o: f + "2" };
  },
});
`;

/** A line-oriented JSON-RPC client on a Unix socket. */
class Client {
  readonly #conn: Deno.UnixConn;
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;
  #nextId = 1;

  private constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
    this.#read();
  }

  static async connect(path: string): Promise<Client> {
    return new Client(await Deno.connect({ transport: "unix", path }));
  }

  async #read(): Promise<void> {
    let buffer = "";
    try {
      for await (const chunk of this.#conn.readable.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let newline = buffer.indexOf("\n");
        while (newline >= 0) {
          this.#lines.push(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
          newline = buffer.indexOf("\n");
        }
        this.#wake?.();
      }
    } catch {
      // closed
    }
  }

  async sendRaw(text: string): Promise<void> {
    await this.#conn.write(new TextEncoder().encode(text + "\n"));
  }

  /** The next message matching `match`, removed from the buffer; fails after 10 s. */
  async next(
    match: (message: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 10_000;
    while (true) {
      const index = this.#lines.findIndex((line) => match(JSON.parse(line)));
      if (index >= 0) return JSON.parse(this.#lines.splice(index, 1)[0]);
      if (Date.now() > deadline) {
        throw new Error(`no matching message in ${this.#lines.join("\n")}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async call(method: string, params?: unknown): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    await this.sendRaw(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    return await this.next((m) => m.id === id);
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

async function served(body: (p: TempProject, w: WatchProcess, c: Client) => Promise<void>) {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "data/input.txt": "x" });
  await using w = WatchProcess.start(p.root, "--serve");
  await w.wave(1);
  const client = await Client.connect(p.path(".pivot/agent.sock"));
  try {
    await body(p, w, client);
  } finally {
    client.close();
  }
}

test("agent: stages and status answer with the SPEC shapes", async () => {
  await served(async (_p, _w, c) => {
    const stages = await c.call("stages");
    assertEquals(
      (stages.result as { stages: { name: string }[] }).stages.map((s) => s.name),
      ["first", "second"],
    );
    const status = await c.call("status");
    const entries = (status.result as { stages: { name: string; status: string }[] }).stages;
    assertEquals(entries.map((s) => [s.name, s.status]), [
      ["first", "up-to-date"],
      ["second", "up-to-date"],
    ]);
  });
});

test("agent: explain gives a stage's status, reasons and changes", async () => {
  await served(async (p, _w, c) => {
    const clean = await c.call("explain", { stage: "second" });
    assertEquals((clean.result as { status: string }).status, "up-to-date");
    // The watcher ignores .pivot/: losing the lock file is seen only by explain.
    await Deno.remove(p.path(".pivot/stages/second.lock"));
    const reply = await c.call("explain", { stage: "second" });
    const result = reply.result as { name: string; status: string; reasons: string[] };
    assertEquals([result.name, result.status, result.reasons], ["second", "will-run", [
      "never-run",
    ]]);
    const unknown = await c.call("explain", { stage: "nope" });
    assertEquals((unknown.error as { code: number }).code, -32602);
  });
});

test("agent: run queues a wave; subscribe streams its events", async () => {
  await served(async (_p, w, c) => {
    const subscribed = await c.call("subscribe");
    assertEquals(subscribed.result, { subscribed: true });
    const run = await c.call("run", { stages: ["first"], force: true });
    assertEquals((run.result as { queued: boolean }).queued, true);
    const stageEvent = await c.next((m) =>
      m.method === "event" && (m.params as { type: string; stage?: string }).stage === "first" &&
      (m.params as { type: string }).type === "stage"
    );
    assertEquals((stageEvent.params as { status: string }).status, "ran");
    await c.next((m) => m.method === "event" && (m.params as { type: string }).type === "summary");
    await w.wave(2);
  });
});

test("agent: cancel stops the running wave", async () => {
  await served(async (p, w, c) => {
    await c.call("subscribe");
    await p.write("params.yaml", "second:\n  n: 20000\n");
    await c.next((m) =>
      m.method === "event" && (m.params as { type: string }).type === "stage-start"
    );
    const cancel = await c.call("cancel");
    assertEquals((cancel.result as { cancelled: boolean }).cancelled, true);
    const wave = await w.wave(2);
    assertEquals(wave.find((e) => e.stage === "second")?.status, "cancelled");
    assert(!(await p.read(".pivot/stages/second.lock")).includes("n: 20000"));
  });
});

test("agent: bad requests get JSON-RPC errors and the server lives on", async () => {
  await served(async (_p, _w, c) => {
    await c.sendRaw("{not json");
    assertEquals(((await c.next((m) => m.id === null)).error as { code: number }).code, -32700);
    await c.sendRaw(JSON.stringify({ jsonrpc: "1.0", id: 7, method: "status" }));
    assertEquals(((await c.next((m) => m.id === 7)).error as { code: number }).code, -32600);
    const unknown = await c.call("fly");
    assertEquals((unknown.error as { code: number }).code, -32601);
    const badParams = await c.call("run", { stages: "first" });
    assertEquals((badParams.error as { code: number }).code, -32602);
    const unknownStage = await c.call("run", { stages: ["nope"] });
    assertMatch((unknownStage.error as { message: string }).message, /unknown stage 'nope'/);
    const still = await c.call("stages");
    assert(still.result !== undefined);
  });
});

test("agent: the socket is removed on exit, and a stale one does not block a start", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "data/input.txt": "x" });
  // A socket file left behind by a killed process: nobody listens on it.
  const stale = Deno.listen({ transport: "unix", path: p.path(".pivot/agent.sock") });
  stale.close();
  await Deno.writeTextFile(p.path(".pivot/agent.sock.keep"), "");
  const w = WatchProcess.start(p.root, "--serve");
  try {
    await w.wave(1);
    const client = await Client.connect(p.path(".pivot/agent.sock"));
    assert((await client.call("stages")).result !== undefined);
    client.close();
  } finally {
    assertEquals(await w.interrupt(), 130);
  }
  assert(!(await p.exists(".pivot/agent.sock")), "the socket file is removed on exit");
});
