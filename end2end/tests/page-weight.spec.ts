import * as fs from "node:fs";
import * as path from "node:path";
import { expect, test, uniqueEmail, PASSWORD } from "./helpers";
import { OPEN_URL } from "../playwright.config";

/**
 * The page-weight budget: each page loaded cold in Chromium (a fresh context: empty cache, new
 * connections) until it is hydrated and the network is idle, counting the bytes that cross the
 * wire (compressed bodies and headers, every request). A page heavier than its budget in
 * `page-weight.json` fails the run; a budget is raised only in a commit that says why.
 */
const budgets: Record<string, number> = JSON.parse(
  fs.readFileSync(path.join(__dirname, "..", "page-weight.json"), "utf8"),
).budgets;

const pages: { path: string; signedIn: boolean }[] = [
  { path: "/user/login", signedIn: false },
  { path: "/user/signup", signedIn: false },
  { path: "/", signedIn: true },
  { path: "/user/account", signedIn: true },
  { path: "/organization", signedIn: true },
  { path: "/organization/activity", signedIn: true },
];

/** A new Owner's session cookie. */
async function ownerSession(): Promise<string> {
  const res = await fetch(`${OPEN_URL}/_sfn/auth/sign_up`, {
    method: "POST",
    headers: { Origin: OPEN_URL, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ email: uniqueEmail("weight"), password: PASSWORD }).toString(),
    redirect: "manual",
  });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("gatehouse_session="));
  expect(cookie, `sign-up answered ${res.status}`).toBeTruthy();
  return cookie!.split(";")[0].split("=")[1];
}

for (const { path: pagePath, signedIn } of pages) {
  test(`${pagePath} stays within its page-weight budget`, async ({ browser }) => {
    const budget = budgets[pagePath];
    expect(budget, `page-weight.json has no budget for ${pagePath}`).toBeGreaterThan(0);
    const context = await browser.newContext();
    if (signedIn) {
      await context.addCookies([{ name: "gatehouse_session", value: await ownerSession(), url: OPEN_URL }]);
    }
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    let wire = 0;
    cdp.on("Network.loadingFinished", ({ encodedDataLength }) => {
      wire += encodedDataLength;
    });
    await page.goto(pagePath);
    await expect(page.locator("body[data-hydrated]")).toBeAttached();
    await page.waitForLoadState("networkidle");
    await context.close();
    const kb = (n: number) => (n / 1000).toFixed(1);
    console.log(`page weight ${pagePath}: ${kb(wire)} KB on the wire (budget ${kb(budget)} KB)`);
    expect(wire, `${pagePath} weighs ${kb(wire)} KB, over its budget of ${kb(budget)} KB`).toBeLessThanOrEqual(budget);
  });
}
