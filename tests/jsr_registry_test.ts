/**
 * The test registry refuses what JSR refuses, so that the end-to-end tests
 * in tests/dist/ would catch a release that jsr.io would reject.
 */

import { packTar } from "modern-tar";
import { Registry } from "./_jsr_registry.ts";
import { assertEquals } from "./_assert.ts";
import { test } from "./_harness.ts";

const TOKEN = "t";

function registry(): Registry {
  return new Registry({ token: TOKEN, packages: ["@t/a", "@t/b"], poll: false, ageDays: 7 });
}

/** Upload `files` as `deno publish` does; the finished task. */
async function publish(
  reg: Registry,
  name: string,
  version: string,
  files: Record<string, string>,
): Promise<{ status: string; error: { code: string } | null }> {
  const tar = await packTar(
    Object.entries(files).map(([path, text]) => {
      const body = new TextEncoder().encode(text);
      return { header: { name: `.${path}`, size: body.byteLength }, body };
    }),
  );
  const gzipped = await new Response(
    new Blob([tar]).stream().pipeThrough(new CompressionStream("gzip")),
  ).arrayBuffer();
  const [scope, pkg] = name.slice(1).split("/");
  const response = await reg.handle(
    new Request(
      `http://registry/api/scopes/${scope}/packages/${pkg}/versions/${version}?config=/deno.json`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-encoding": "gzip" },
        body: gzipped,
      },
    ),
  );
  return await response.json();
}

const config = (name: string, version: string) =>
  JSON.stringify({ name, version, license: "MIT", exports: "./mod.ts" });

test("the registry serves a published version with its manifest and checksums", async () => {
  const reg = registry();
  const mod = `import { b } from "./b.ts";\nexport const a = b + 1;\n`;
  const task = await publish(reg, "@t/a", "1.0.0", {
    "/deno.json": config("@t/a", "1.0.0"),
    "/mod.ts": mod,
    "/b.ts": "export const b = 1;\n",
  });
  assertEquals(task, { ...task, status: "success", error: null });
  const meta = await (await reg.handle(new Request("http://registry/@t/a/meta.json"))).json();
  assertEquals(meta.latest, "1.0.0");
  const version = await (await reg.handle(new Request("http://registry/@t/a/1.0.0_meta.json")))
    .json();
  assertEquals(Object.keys(version.manifest).sort(), ["/b.ts", "/deno.json", "/mod.ts"]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(mod));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  assertEquals(version.manifest["/mod.ts"], { size: mod.length, checksum: `sha256-${hex}` });
  const served = await reg.handle(new Request("http://registry/@t/a/1.0.0/mod.ts"));
  assertEquals(await served.text(), mod);
});

test("the registry refuses what JSR refuses", async () => {
  const reg = registry();
  const refused = async (files: Record<string, string>) =>
    (await publish(reg, "@t/a", "1.0.0", { "/deno.json": config("@t/a", "1.0.0"), ...files }))
      .error?.code;
  // A bare specifier that publishing did not rewrite.
  assertEquals(await refused({ "/mod.ts": `import "yaml";` }), "graphError");
  assertEquals(
    await refused({ "/mod.ts": `import "https://example.com/x.ts";` }),
    "invalidExternalImport",
  );
  assertEquals(await refused({ "/mod.ts": `import "npm:yaml";` }), "missingConstraint");
  assertEquals(await refused({ "/mod.ts": `import "jsr:@t/b@^1";` }), "unresolvableJsrDependency");
  assertEquals(await refused({ "/mod.ts": `import "./missing.ts";` }), "graphError");
  assertEquals(await refused({ "/lib.ts": "" }), "graphError"); // the export is missing
  assertEquals(
    (await publish(reg, "@t/a", "1.0.0", {
      "/deno.json": JSON.stringify({ name: "@t/a", version: "1.0.0", exports: "./mod.ts" }),
      "/mod.ts": "",
    })).error?.code,
    "missingLicense",
  );
  assertEquals(
    (await publish(reg, "@t/a", "1.0.0", { "/deno.json": config("@t/b", "1.0.0") })).error?.code,
    "configFileNameMismatch",
  );
});
