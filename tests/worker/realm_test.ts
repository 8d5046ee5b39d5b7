/** What a stage may change in a warm worker's realm, and what Deno changes by itself. */

import { RealmSnapshot } from "../../lib/worker/realm.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

/** Apply `change`, read the snapshot's changes, undo it. */
function changesAfter(change: () => () => void): string[] {
  const snapshot = RealmSnapshot.take();
  assertEquals(snapshot.changes(), [], "nothing changed yet");
  const undo = change();
  try {
    return snapshot.changes();
  } finally {
    undo();
    assertEquals(snapshot.changes(), [], "undone");
  }
}

test("replacing a built-in's method is a change, named by its path", () => {
  assertEquals(
    changesAfter(() => {
      const original = JSON.stringify;
      JSON.stringify = () => "x";
      return () => JSON.stringify = original;
    }),
    ["JSON.stringify"],
  );
  assertEquals(
    changesAfter(() => {
      const original = Math.random;
      Math.random = () => 0.5;
      return () => Math.random = original;
    }),
    ["Math.random"],
  );
});

test("a new global, a property added to a prototype and a deleted one are changes", () => {
  const scope = globalThis as Record<string, unknown>;
  assertEquals(
    changesAfter(() => {
      scope.sharedBetweenStages = 1;
      return () => delete scope.sharedBetweenStages;
    }),
    ["sharedBetweenStages"],
  );
  assertEquals(
    changesAfter(() => {
      Object.defineProperty(BigInt.prototype, "toJSON", {
        value() {
          return String(this);
        },
        configurable: true,
        writable: true,
      });
      return () => delete (BigInt.prototype as { toJSON?: unknown }).toJSON;
    }),
    ["BigInt.prototype.toJSON"],
  );
  assertEquals(
    changesAfter(() => {
      const descriptor = Object.getOwnPropertyDescriptor(Array.prototype, "flat")!;
      delete (Array.prototype as { flat?: unknown }).flat;
      return () => Object.defineProperty(Array.prototype, "flat", descriptor);
    }),
    ["Array.prototype.flat"],
  );
});

test("a redefined global getter and a changed prototype chain are changes", () => {
  assertEquals(
    changesAfter(() => {
      const descriptor = Object.getOwnPropertyDescriptor(globalThis, "crypto")!;
      Object.defineProperty(globalThis, "crypto", { value: {}, configurable: true });
      return () => Object.defineProperty(globalThis, "crypto", descriptor);
    }),
    ["crypto"],
  );
  assertEquals(
    changesAfter(() => {
      const proto = Object.getPrototypeOf(Map.prototype);
      Object.setPrototypeOf(Map.prototype, Object.create(proto));
      return () => Object.setPrototypeOf(Map.prototype, proto);
    }),
    ["the prototype of Map.prototype"],
  );
});

test("using Node compatibility, the web APIs and npm packages changes nothing Pivot watches", {
  timeLimit: 300_000,
}, async () => {
  // Deno initialises parts of itself lazily, the first time a stage needs
  // them; a worker's first stage to use them must not look like a stage
  // that changed the realm (its worker would be retired for nothing).
  const realm = new URL("../../lib/worker/realm.ts", import.meta.url).href;
  const source = `
import { RealmSnapshot } from "${realm}";
const snapshot = RealmSnapshot.take();
const changed = new Set();
const note = (what) => { for (const change of snapshot.changes(50)) changed.add(what + ": " + change); };
for (const name of ${JSON.stringify(NODE_MODULES)}) { await import(name); note(name); }
for (const name of ${JSON.stringify(LAZY_GLOBALS)}) { globalThis[name]; note(name); }
await import("npm:yaml@2.9.1"); note("yaml");
await import("npm:csv-parse@7.0.3/sync"); note("csv-parse");
await crypto.subtle.digest("SHA-256", new Uint8Array(1)); note("crypto.subtle");
new Intl.DateTimeFormat("en").format(new Date(0)); note("Intl");
await new Response("x").text(); note("Response");
self.postMessage([...changed]);
`;
  const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    const changed = await new Promise((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
    });
    assertEquals(changed, []);
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});

/** Node's modules (`node:` prefixed where they are imported). */
const NODE_MODULES = [
  "assert",
  "async_hooks",
  "buffer",
  "child_process",
  "crypto",
  "dns",
  "events",
  "fs",
  "fs/promises",
  "http",
  "https",
  "module",
  "net",
  "os",
  "path",
  "perf_hooks",
  "process",
  "querystring",
  "readline",
  "stream",
  "string_decoder",
  "timers",
  "timers/promises",
  "tty",
  "url",
  "util",
  "v8",
  "vm",
  "worker_threads",
  "zlib",
].map((name) => `node:${name}`);

const LAZY_GLOBALS = [
  "process",
  "Buffer",
  "setImmediate",
  "setTimeout",
  "crypto",
  "fetch",
  "Request",
  "Response",
  "Headers",
  "ReadableStream",
  "WebSocket",
  "TextEncoder",
  "structuredClone",
  "navigator",
  "performance",
  "caches",
  "BroadcastChannel",
  "FormData",
];
