import { expect, test, uniqueEmail, PASSWORD } from "./helpers";
import { OPEN_URL } from "../playwright.config";

/**
 * Pages rendered at the same time stay apart: no page carries another response's CSP nonce or
 * its links. (A page may or may not carry its own lazy-route preload links, depending on which
 * owner Leptos left current while it rendered; those carry its own nonce.) (Leptos once wrote a lazy route's preload links, with their request's nonce, into
 * whichever page was rendering on the same worker thread.)
 */
test("concurrent page loads never carry another response's nonce or links", async () => {
  const res = await fetch(`${OPEN_URL}/_sfn/auth/sign_up`, {
    method: "POST",
    headers: { Origin: OPEN_URL, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ email: uniqueEmail("isolation"), password: PASSWORD }).toString(),
    redirect: "manual",
  });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("gatehouse_session="))!.split(";")[0];
  const paths = ["/organization", "/", "/user/account", "/organization/activity", "/organization/sso"];
  const loads = Array.from({ length: 200 }, (_, i) => paths[i % paths.length]).map(async (path) => {
    const page = await fetch(`${OPEN_URL}${path}`, { headers: { Cookie: cookie, Accept: "text/html" } });
    const nonce = /'nonce-([^']+)'/.exec(page.headers.get("content-security-policy") ?? "")?.[1];
    const html = await page.text();
    const attributes = [...html.matchAll(/(?:nonce|crossorigin)="([^"]+)"/g)].map((m) => m[1]);
    const head = html.split("</head>")[0];
    const links = head.match(/<link[^>]*>/g) ?? [];
    return { path, status: page.status, nonce, foreign: attributes.filter((a) => a !== nonce), repeated: links.filter((l, i) => links.indexOf(l) !== i) };
  });
  const pages = await Promise.all(loads);
  for (const page of pages) {
    expect(page.status, page.path).toBe(200);
    expect(page.nonce, page.path).toBeTruthy();
    expect(page.foreign, `${page.path} carries another response's nonce`).toEqual([]);
    // Another render's links came in as copies of the page's own (the same chunk four times).
    expect(page.repeated, `${page.path} repeats links in its head`).toEqual([]);
  }
});
