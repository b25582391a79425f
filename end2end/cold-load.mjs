// Prints what a person on a slow device feels on a first visit: for /user/signup (signed out) and
// /organization (signed in), a cold load in Chromium with the CPU slowed 4x, 10 Mbit/s down,
// 5 Mbit/s up and 40 ms round trip (DevTools protocol emulation), each run in a fresh context
// (empty cache, new connections). Per page: ms from navigation start until the page is hydrated
// (body[data-hydrated]) and its main button is enabled, so that a click is handled by the app;
// the first contentful paint; and the KB that crossed the wire (every request of the load, until
// the network is idle). It prints figures and asserts nothing; `.ci/bench` runs it.
//
// Usage: BASE=http://127.0.0.1:3290 [COOKIE=gatehouse_session=...] [RUNS=3] node cold-load.mjs
// Without COOKIE it signs a new Owner up for the signed-in page.
import { chromium } from "@playwright/test";

const base = process.env.BASE;
if (!base) {
  console.error("set BASE (the server's URL)");
  process.exit(2);
}
const runs = Number(process.env.RUNS ?? 3);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
  ],
});

/** Signs a new Owner up through the server function and returns their session cookie. */
async function signUp() {
  const response = await fetch(`${base}/_sfn/auth/sign_up`, {
    method: "POST",
    headers: { Origin: base, "Content-Type": "application/x-www-form-urlencoded" },
    body: `email=cold-load-${Date.now()}@example.com&password=cold-load-password`,
    redirect: "manual",
  });
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith("gatehouse_session="));
  if (!response.ok || !cookie) throw new Error(`sign-up failed with status ${response.status}`);
  return cookie.split(";")[0];
}

/**
 * Runs in the page before its own scripts: notes (in ms since navigation start) when the body is
 * marked hydrated while the main button is enabled and shown.
 */
function watchUsable(selector) {
  const check = () => {
    if (window.__usable !== undefined || !document.body?.hasAttribute("data-hydrated")) return;
    const button = document.querySelector(selector);
    if (!button || button.disabled || button.getClientRects().length === 0) return;
    window.__usable = performance.now();
  };
  // The button is in the server's HTML: hydration marks the body, and only `disabled` changes it.
  new MutationObserver(check).observe(document, {
    subtree: true, attributes: true, attributeFilter: ["data-hydrated", "disabled"],
  });
}

const pages = [
  { path: "/user/signup", button: "form button[type=submit]", signedIn: false },
  { path: "/organization", button: "button[aria-haspopup=dialog]", signedIn: true },
];

/** One cold load of `path`; its figures. */
async function coldLoad({ path, button }, cookie) {
  const context = await browser.newContext();
  if (cookie) {
    const [name, value] = cookie.split("=");
    await context.addCookies([{ name, value, url: base }]);
  }
  await context.addInitScript(watchUsable, button);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 40, downloadThroughput: 10e6 / 8, uploadThroughput: 5e6 / 8,
  });
  let wire = 0;
  let requests = 0;
  cdp.on("Network.loadingFinished", ({ encodedDataLength }) => {
    wire += encodedDataLength;
    requests += 1;
  });
  await page.goto(base + path, { waitUntil: "commit" });
  await page.waitForFunction(() => window.__usable !== undefined, null, { timeout: 60_000, polling: 100 });
  await page.waitForLoadState("networkidle");
  const figures = await page.evaluate(() => ({
    usable: window.__usable,
    hydrated: document.body.hasAttribute("data-hydrated"),
    fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime,
  }));
  // The app's own handler answers the click: the Invite People dialog opens (signup's button
  // would post the form, so it is not clicked).
  let click = "";
  if (path === "/organization") {
    await page.locator(button).click();
    const opened = await page.getByRole("dialog").waitFor({ timeout: 10_000 }).then(() => true, () => false);
    click = opened ? "click opens the dialog" : "click did NOT open the dialog";
  }
  await context.close();
  return { ...figures, wire, requests, click };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const cookie = process.env.COOKIE || (await signUp());
for (const spec of pages) {
  const results = [];
  for (let run = 0; run < runs; run++) results.push(await coldLoad(spec, spec.signedIn ? cookie : undefined));
  const usable = results.map((r) => r.usable);
  const fcp = results.map((r) => r.fcp ?? NaN);
  const kb = results.map((r) => r.wire / 1000);
  const each = (values, digits = 0) => values.map((v) => v.toFixed(digits)).join(", ");
  console.log(
    `${spec.path.padEnd(14)} usable ${median(usable).toFixed(0).padStart(5)} ms (${each(usable)})`
      + `   first paint ${median(fcp).toFixed(0).padStart(5)} ms (${each(fcp)})`
      + `   ${median(kb).toFixed(1)} KB on the wire in ${results[0].requests} requests (${each(kb, 1)})`
      + (results[0].click ? `   ${results[0].click}` : ""),
  );
}
await browser.close();
