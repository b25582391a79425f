import type { CDPSession, Page } from "@playwright/test";
import { authenticator } from "otplib";
import { expect, open, openMenu, PASSWORD, signUp, test, uniqueEmail } from "./helpers";
import { OPEN_URL } from "../playwright.config";

// Passkeys need a host name browsers accept as a relying party: the app at `localhost`.
test.use({ baseURL: OPEN_URL.replace("127.0.0.1", "localhost") });

/** Chromium's virtual authenticator (the DevTools Protocol's WebAuthn domain): a platform
 * authenticator that keeps discoverable credentials and verifies its user. */
async function virtualAuthenticator(page: Page): Promise<CDPSession> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return cdp;
}

async function logOut(page: Page): Promise<void> {
  const menu = await openMenu(page);
  await menu.getByRole("button", { name: "Log out" }).click();
  await page.waitForURL((url) => url.pathname === "/user/login");
}

async function logInWithPassword(page: Page, email: string): Promise<void> {
  await open(page, "/user/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in", exact: true }).click();
}

/** A code of the authenticator app, for the time step after the current one (the server takes
 * one step either side, and each step once: the step just used to confirm is spent). */
function nextCode(secret: string): string {
  return authenticator.clone({ epoch: Date.now() + 30_000 }).generate(secret.replace(/ /g, ""));
}

/** Sets up the authenticator app from the secret beside the QR code; the recovery codes shown. */
async function setUpAuthenticatorApp(page: Page): Promise<{ secret: string; codes: string[] }> {
  const section = page.getByTestId("two-factor");
  await section.getByRole("button", { name: "Set up authenticator app" }).click();
  await expect(section.getByTestId("totp-qr").locator("svg")).toBeVisible();
  const secret = (await section.getByTestId("totp-secret").textContent()) ?? "";
  expect(secret.replace(/ /g, "")).toMatch(/^[A-Z2-7]{32}$/);
  await section.getByLabel("Code from the app").fill(authenticator.generate(secret.replace(/ /g, "")));
  await section.getByRole("button", { name: "Turn on" }).click();
  const shown = page.getByTestId("new-recovery-codes");
  await expect(shown).toBeVisible();
  const codes = (await shown.locator("textarea").inputValue()).split("\n");
  expect(codes).toHaveLength(10);
  await expect(shown.getByRole("link", { name: "Download" })).toHaveAttribute("download", "gatehouse-recovery-codes.txt");
  await expect(section.getByTestId("two-factor-summary")).toContainText("On, with an authenticator app");
  return { secret, codes };
}

test("a passkey is added on the Account page and signs in without a password", async ({ page }) => {
  await virtualAuthenticator(page);
  const email = uniqueEmail("passkey");
  await signUp(page, email);
  await open(page, "/user/account");
  const passkeys = page.getByTestId("passkeys");
  await passkeys.getByLabel("Name").fill("Work laptop");
  await passkeys.getByRole("button", { name: "Add a passkey" }).click();
  await expect(passkeys.getByTestId("passkey")).toContainText("Work laptop");
  await expect(page.getByTestId("new-recovery-codes")).toBeVisible();
  await expect(page.getByTestId("two-factor-summary")).toContainText("On, with 1 passkey");

  await logOut(page);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await open(page, "/user/account");
  await expect(page.getByTestId("account-email")).toHaveText(email);
  await expect(page.getByTestId("passkey")).toContainText("last used");
});

test("the authenticator app is set up from its QR code's secret and asked for after the password; a recovery code works once", async ({ page }) => {
  const email = uniqueEmail("totp");
  await signUp(page, email);
  await open(page, "/user/account");
  const { secret, codes } = await setUpAuthenticatorApp(page);

  // The password leads to the second step, where a recovery code signs in.
  await logOut(page);
  await logInWithPassword(page, email);
  await page.waitForURL((url) => url.pathname === "/user/login/two-factor");
  await page.getByText("Lost your device? Use a recovery code").click();
  await page.getByLabel("Recovery code").fill(codes[0]);
  await page.getByRole("button", { name: "Use recovery code" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await open(page, "/user/account");
  await expect(page.getByTestId("two-factor-summary")).toContainText("9 recovery codes left");

  // The same code again is refused; the app's code signs in.
  await logOut(page);
  await logInWithPassword(page, email);
  await page.waitForURL((url) => url.pathname === "/user/login/two-factor");
  await page.getByText("Lost your device? Use a recovery code").click();
  await page.getByLabel("Recovery code").fill(codes[0]);
  await page.getByRole("button", { name: "Use recovery code" }).click();
  await expect(page.getByTestId("two-factor-recovery").getByText("used already")).toBeVisible();
  await page.getByLabel("Code from your authenticator app").fill(nextCode(secret));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForURL((url) => url.pathname === "/");
});

test("an organization that requires two factors takes a member without one to enrollment", async ({ page }) => {
  const email = uniqueEmail("policy");
  await signUp(page, email);
  await open(page, "/organization");
  const policy = page.getByTestId("two-factor-policy");
  await policy.getByLabel("Require two-factor authentication").check();
  await policy.getByLabel("Grace period, in days").fill("0");
  await policy.getByRole("button", { name: "Save two-factor policy" }).click();
  await expect(policy.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();

  // With no grace left, the Organization page sends its Owner to enroll.
  await open(page, "/organization");
  await page.waitForURL((url) => url.pathname === "/user/account");
  await expect(page.getByTestId("two-factor-required")).toContainText("requires two-factor authentication");
  await setUpAuthenticatorApp(page);
  await open(page, "/organization");
  await expect(page).toHaveURL(/\/organization$/);
  const me = page.getByRole("row").filter({ hasText: email });
  await expect(me.getByTestId("two-factor-on")).toHaveText("2FA");
});
