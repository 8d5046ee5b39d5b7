import { assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { cookieValue, newToken, RequestGuard } from "../../lib/ui/guard.ts";

const TOKEN = "a".repeat(48);
const guard = new RequestGuard({ token: TOKEN, hostname: "127.0.0.1", port: 8123 });

function request(url: string, headers: Record<string, string> = {}): Request {
  const host = new URL(url).host;
  return new Request(url, { headers: { host, ...headers } });
}

test("guard: tokens are 48 random hex digits", () => {
  const a = newToken();
  assertMatch(a, /^[0-9a-f]{48}$/);
  assertEquals(a === newToken(), false);
});

test("guard: the token is taken from the URL, the Authorization header or the cookie", () => {
  assertEquals(guard.check(request(`http://127.0.0.1:8123/?token=${TOKEN}`)), { fromUrl: true });
  assertEquals(
    guard.check(request("http://127.0.0.1:8123/api/snapshot", { authorization: `token ${TOKEN}` })),
    { fromUrl: false },
  );
  assertEquals(
    guard.check(request("http://127.0.0.1:8123/", { authorization: `Bearer ${TOKEN}` })),
    { fromUrl: false },
  );
  assertEquals(
    guard.check(request("http://127.0.0.1:8123/", { cookie: `x=1; pivot-ui-8123=${TOKEN}; y=2` })),
    { fromUrl: false },
  );
});

test("guard: no token, a wrong one, or another port's cookie is refused with 403", () => {
  const refusals = [
    request("http://127.0.0.1:8123/"),
    request(`http://127.0.0.1:8123/?token=${"b".repeat(48)}`),
    request(`http://127.0.0.1:8123/?token=${TOKEN}x`),
    request("http://127.0.0.1:8123/?token="),
    request("http://127.0.0.1:8123/", { authorization: `token ${TOKEN.slice(1)}` }),
    request("http://127.0.0.1:8123/", { cookie: `pivot-ui-9999=${TOKEN}` }),
  ];
  for (const r of refusals) assertEquals((guard.check(r) as { status: number }).status, 403, r.url);
});

test("guard: only this server's host names pass, at its port", () => {
  const own = [
    "127.0.0.1:8123",
    "localhost:8123",
    "LOCALHOST:8123",
    "[::1]:8123",
    "10.1.2.3:8123",
  ];
  for (const host of own) {
    const r = new Request(`http://127.0.0.1:8123/?token=${TOKEN}`, { headers: { host } });
    assertEquals(guard.check(r), { fromUrl: true }, host);
  }
  const foreign = [
    "evil.example:8123",
    "evil.example",
    "127.0.0.1",
    "127.0.0.1:8124",
    "localhost.evil.example:8123",
    "127.0.0.1.nip.io:8123",
    "",
    "a:b:c",
  ];
  for (const host of foreign) {
    const r = new Request(`http://127.0.0.1:8123/?token=${TOKEN}`, { headers: { host } });
    const verdict = guard.check(r) as { status: number; message: string };
    assertEquals(verdict.status, 403, host);
    assertMatch(verdict.message, /Host/);
  }
});

test("guard: a name given with --host is the server's own", () => {
  const named = new RequestGuard({ token: TOKEN, hostname: "build-box.lan", port: 80 });
  const r = new Request(`http://build-box.lan/?token=${TOKEN}`, {
    headers: { host: "build-box.lan" },
  });
  assertEquals(named.check(r), { fromUrl: true });
});

test("guard: an Origin other than the server's is refused", () => {
  const ok = request(`http://127.0.0.1:8123/api/run?token=${TOKEN}`, {
    origin: "http://127.0.0.1:8123",
  });
  assertEquals(guard.check(ok), { fromUrl: true });
  for (
    const origin of [
      "http://evil.example",
      "http://localhost:8123",
      "null",
      "https://127.0.0.1:8123",
    ]
  ) {
    const r = request(`http://127.0.0.1:8123/api/run?token=${TOKEN}`, { origin });
    assertEquals((guard.check(r) as { status: number }).status, 403, origin);
  }
});

test("guard: the cookie is HttpOnly, SameSite=Strict, for the whole server", () => {
  assertEquals(guard.cookie(), `pivot-ui-8123=${TOKEN}; Path=/; HttpOnly; SameSite=Strict`);
  assertEquals(cookieValue("a=1; pivot-ui-8123=xyz", "pivot-ui-8123"), "xyz");
  assertEquals(cookieValue("a=1", "pivot-ui-8123"), undefined);
});
