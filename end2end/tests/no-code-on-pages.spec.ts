import { Browser, Page } from "@playwright/test";
import { expect, linkInMail, open, PASSWORD, signUp, test, uniqueEmail } from "./helpers";

const PAGES = [
  "/",
  "/user/login",
  "/user/signup",
  "/user/forgot-password",
  "/user/account",
  "/organization",
  "/organization/activity",
  "/user/verify-email?token=x",
  "/user/reset-password?token=x",
];

/** What source code looks like when a page shows it as text. */
const CODE = ["move |", "=>", "::", "set_", "{"];

/** Someone registers through the Owner's invite link in a browser of their own: a Pending member. */
async function joinThroughLink(owner: Page, browser: Browser): Promise<Page> {
  const response = await owner.request.get("/api/invite");
  expect(response.status()).toBe(200);
  const { invite_url } = await response.json();
  const page = await (await browser.newContext()).newPage();
  await open(page, invite_url);
  await page.getByLabel("Email").fill(uniqueEmail("pending"));
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await expect(page.getByRole("heading", { name: "Waiting for your role" })).toBeVisible();
  return page;
}

/** Someone invited by email as an Administrator signs up through the link in the message. */
async function joinAsAdministrator(owner: Page, browser: Browser): Promise<Page> {
  const email = uniqueEmail("admin");
  const sent = await owner.request.post("/api/invite/send-email", { data: { emails: [email], role: "ADMINISTRATOR" } });
  expect(sent.status()).toBe(200);
  let link = "";
  await expect
    .poll(() => (link = linkInMail(email, "/user/signup", "ghi_")), { message: `an invitation to ${email}`, timeout: 30_000 })
    .not.toBe("");
  const page = await (await browser.newContext()).newPage();
  await open(page, link);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  return page;
}

/** Opens every page as whoever `page` is signed in as; fails on code in the text or a console error. */
async function openEveryPage(page: Page, who: string): Promise<void> {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`${page.url()}: ${error.message}`));
  page.on("console", (message) => {
    // A refusal (403 for a page the person may not see, 400 for a dead link) is an answer, not a fault.
    const refusal = /^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text());
    if (message.type() === "error" && !refusal) {
      errors.push(`${page.url()}: ${message.text()}`);
    }
  });
  for (const path of PAGES) {
    await open(page, path);
    const text = await page.locator("body").innerText();
    for (const code of CODE) {
      expect(text, `${who} on ${path} (now ${page.url()}) sees "${code}"`).not.toContain(code);
    }
  }
  expect(errors, `console errors for ${who}`).toEqual([]);
}

test("no page shows source code or logs an error, whoever opens it", async ({ page, browser }) => {
  test.setTimeout(120_000);
  await signUp(page, uniqueEmail());
  // More entries than the Activity page shows at once (one per invitation), so that it has
  // somewhere to go.
  const tag = uniqueEmail("entry").split("@")[0];
  const emails = Array.from({ length: 50 }, (_, i) => `${tag}-${i}@example.com`);
  const sent = await page.request.post("/api/invite/send-email", { data: { emails, role: "ANNOTATOR" } });
  expect(sent.status()).toBe(200);
  const administrator = await joinAsAdministrator(page, browser);
  const pending = await joinThroughLink(page, browser);
  const visitor = await (await browser.newContext()).newPage();

  await open(page, "/organization/activity");
  await expect(page.getByRole("button", { name: "Newer", exact: true })).toBeDisabled();
  await expect(page.getByRole("button", { name: "Older", exact: true })).toBeEnabled();

  await openEveryPage(page, "the Owner");
  await openEveryPage(administrator, "an Administrator");
  await openEveryPage(pending, "a Pending member");
  await openEveryPage(visitor, "a signed-out visitor");
});
