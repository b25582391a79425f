// Prints what Chromium downloads from /pkg/ (wasm, js, css) to make each page interactive, on a
// cold cache: the files, their gzip -9 size, and the bytes that actually crossed the wire (the
// server compresses with brotli or gzip, whichever the browser prefers). Pages are split into
// wasm chunks (`cargo leptos build --split`), so each page fetches the shared main module and
// its own chunks only. It prints figures and asserts nothing; `.ci/bench` runs it.
//
// Usage: BASE=http://127.0.0.1:3290 LEPTOS_SITE_ROOT=target/site node bundle-size.mjs
import { chromium } from "@playwright/test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const base = process.env.BASE;
const siteRoot = process.env.LEPTOS_SITE_ROOT;
if (!base || !siteRoot) {
  console.error("set BASE (the server's URL) and LEPTOS_SITE_ROOT (the built site)");
  process.exit(2);
}

const gzipSize = (pathname) => gzipSync(readFileSync(join(siteRoot, pathname)), { level: 9 }).length;
const kb = (bytes) => `${(bytes / 1000).toFixed(1)} KB`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
  ],
});

/** Opens `path` in a fresh context (empty cache) and returns the /pkg/ files it fetched. */
async function measure(path, cookies = []) {
  const context = await browser.newContext();
  await context.addCookies(cookies);
  const page = await context.newPage();
  const fetched = new Map();
  page.on("requestfinished", async (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith("/pkg/")) {
      fetched.set(url.pathname, (await request.sizes()).responseBodySize);
    }
  });
  await page.goto(base + path);
  await page.locator("body[data-hydrated]").waitFor({ state: "attached", timeout: 30_000 });
  await page.waitForLoadState("networkidle");
  await context.close();
  return fetched;
}

/** Signs a new Owner up through the server function and returns their session cookie. */
async function signUp() {
  const response = await fetch(`${base}/_sfn/auth/sign_up`, {
    method: "POST",
    headers: { Origin: base, "Content-Type": "application/x-www-form-urlencoded" },
    body: `email=bundle-${Date.now()}@example.com&password=bundle-size-password`,
    redirect: "manual",
  });
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith("gatehouse_session="));
  if (!response.ok || !cookie) throw new Error(`sign-up failed with status ${response.status}`);
  const [name, value] = cookie.split(";")[0].split("=");
  return [{ name, value, url: base }];
}

const anonymous = ["/user/login", "/user/signup"];
const signedIn = ["/", "/user/account", "/organization"];
const cookies = await signUp();
console.log(`${"page".padEnd(16)} ${"files".padStart(5)} ${"gzip -9".padStart(10)} ${"on the wire".padStart(12)}`);
for (const path of [...anonymous, ...signedIn]) {
  const fetched = await measure(path, signedIn.includes(path) ? cookies : []);
  let gzip = 0;
  let wire = 0;
  for (const [pathname, bytes] of fetched) {
    gzip += gzipSize(pathname);
    wire += bytes;
  }
  console.log(`${path.padEnd(16)} ${String(fetched.size).padStart(5)} ${kb(gzip).padStart(10)} ${kb(wire).padStart(12)}`);
}
await browser.close();

const pkg = join(siteRoot, "pkg");
const all = readdirSync(pkg).filter((f) => /\.(wasm|js|css)$/.test(f));
const total = all.reduce((sum, f) => sum + gzipSize(join("pkg", f)), 0);
console.log(`every file in pkg/ (${all.length} files): ${kb(total)} gzip -9`);
