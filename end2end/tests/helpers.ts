import { test as base, BrowserContext, expect, Locator, Page } from "@playwright/test";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { OPEN_DATA_DIR } from "../playwright.config";

export { expect };

/** Reports, in the page's console, what the Content-Security-Policy blocked. */
const REPORT_VIOLATIONS = () =>
  document.addEventListener("securitypolicyviolation", (e) =>
    console.error(`securitypolicyviolation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile}:${e.lineNumber}`),
  );

/** Whether a console message tells of a Content-Security-Policy violation (Chromium's own, or ours). */
export function isCspViolation(text: string): boolean {
  return /securitypolicyviolation|Content[ -]Security[ -]Policy/i.test(text);
}

/**
 * Playwright's `test`, where a journey fails if the Content-Security-Policy blocked anything in
 * any page it opened: in its own browser context or in one it made with `browser.newContext()`.
 */
export const test = base.extend<{ cspViolations: string[] }>({
  cspViolations: [
    async ({ context, browser }, use) => {
      const violations: string[] = [];
      const watch = (ctx: BrowserContext) => {
        ctx.on("console", (message) => {
          if (isCspViolation(message.text())) {
            violations.push(`${message.location().url}: ${message.text()}`);
          }
        });
        return ctx.addInitScript(REPORT_VIOLATIONS);
      };
      // Contexts the journey makes are watched from their first page on; Chromium reports a
      // violation in the console, the listener only adds detail.
      const watchNew = (ctx: BrowserContext) => void watch(ctx).catch(() => {});
      browser.on("context", watchNew);
      await watch(context);
      await use(violations);
      browser.off("context", watchNew);
      expect(violations, "Content-Security-Policy violations").toEqual([]);
    },
    { auto: true },
  ],
});

export const PASSWORD = "correct horse battery";

export function uniqueEmail(prefix = "owner"): string {
  return `${prefix}-${randomBytes(5).toString("hex")}@example.com`;
}

/** Opens a page and waits until it is hydrated (interactive). */
export async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
}

export async function signUp(page: Page, email: string, password = PASSWORD): Promise<void> {
  await open(page, "/user/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
}

/** Opens the menu in the upper left; returns it. */
export async function openMenu(page: Page): Promise<Locator> {
  await page.getByRole("button", { name: "Menu" }).click();
  const menu = page.getByRole("navigation", { name: "Main" });
  await expect(menu).toBeVisible();
  return menu;
}

/** Where the default server writes its messages (it has no SMTP server). */
export const MAIL_DIR = path.join(OPEN_DATA_DIR, "mail");

/** Undoes quoted-printable (soft line breaks and =XX escapes), as a mail client would. */
function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\r?\n/g, "");
  const bytes = Buffer.from(joined.replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))), "latin1");
  return bytes.toString("utf8");
}

/** The decoded messages to `address` so far, oldest first (files are `<seconds>-<id>.eml`). */
export function messagesTo(address: string): string[] {
  if (!fs.existsSync(MAIL_DIR)) return [];
  const order = (name: string) => name.replace(".eml", "").split("-").map(Number);
  return fs
    .readdirSync(MAIL_DIR)
    .filter((name) => name.endsWith(".eml"))
    .sort((a, b) => {
      const [x, y] = [order(a), order(b)];
      return x[0] - y[0] || x[1] - y[1];
    })
    .map((name) => decodeQuotedPrintable(fs.readFileSync(path.join(MAIL_DIR, name), "utf8")))
    .filter((text) => text.includes(`To: ${address}`));
}

/** The link to `page` with a token starting `prefix` in the newest message to `address` that
 *  has one, or "" if none has come yet. */
export function linkInMail(address: string, page: string, prefix: string): string {
  // The token must be followed by the rest of the message: a message still being written may
  // end in the middle of one.
  const pattern = new RegExp(`https?://[^\\s"<>]+${page.replace(/\//g, "\\/")}\\?token=${prefix}[A-Za-z0-9_-]+(?=[\\s"<>])`);
  for (const text of messagesTo(address).reverse()) {
    const link = text.match(pattern);
    if (link) return link[0];
  }
  return "";
}
