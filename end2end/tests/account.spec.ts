import { Browser, Page } from "@playwright/test";
import { expect, linkInMail, open, PASSWORD, signUp, test, uniqueEmail } from "./helpers";

const NEW_PASSWORD = "a brand new passphrase";

/** Logs in from a fresh browser (another device); returns its page. */
async function logInElsewhere(browser: Browser, email: string, password = PASSWORD): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await open(page, "/user/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  return page;
}

/** Whether `page`'s browser is still signed in. */
async function signedIn(page: Page): Promise<boolean> {
  await page.goto("/user/account");
  await page.waitForURL((url) => ["/user/account", "/user/login"].includes(url.pathname));
  return new URL(page.url()).pathname === "/user/account";
}

test("a user gives their name and changes their password; their other sessions end", async ({ page, browser }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  const laptop = await logInElsewhere(browser, email);

  await open(page, "/user/account");
  await page.getByLabel("First name").fill("Ada");
  await page.getByLabel("Last name").fill("Lovelace");
  await page.getByRole("button", { name: "Save name" }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  await open(page, "/organization");
  await expect(page.getByTestId("members-table")).toContainText("Ada Lovelace");

  await open(page, "/user/account");
  await page.getByLabel("Current password").fill("not my password");
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("That is not your current password.")).toBeVisible();
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Password changed. Your other sessions have been signed out.")).toBeVisible();

  expect(await signedIn(page)).toBe(true);
  expect(await signedIn(laptop)).toBe(false);
  const again = await logInElsewhere(browser, email, NEW_PASSWORD);
  expect(await signedIn(again)).toBe(true);
});

test("a user signs out one session, then everywhere else", async ({ page, browser }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  const laptop = await logInElsewhere(browser, email);
  const phone = await logInElsewhere(browser, email);

  await open(page, "/user/account");
  const sessions = page.getByTestId("session");
  await expect(sessions).toHaveCount(3);
  await expect(page.locator('[data-testid="session"][data-current="true"]')).toContainText("This device");

  await sessions.filter({ hasNotText: "This device" }).first().getByRole("button", { name: /^Sign out/ }).click();
  await expect(sessions).toHaveCount(2);
  const stillIn = [await signedIn(laptop), await signedIn(phone)];
  expect(stillIn.filter(Boolean)).toHaveLength(1);

  await page.getByRole("button", { name: "Sign out everywhere else" }).click();
  await expect(page.getByText("Signed out of 1 other session.")).toBeVisible();
  await expect(sessions).toHaveCount(1);
  expect(await signedIn(laptop)).toBe(false);
  expect(await signedIn(phone)).toBe(false);
  expect(await signedIn(page)).toBe(true);
});

test("a new owner verifies their address from the mail, and the banner goes", async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  const banner = page.getByTestId("verify-banner");
  await expect(banner).toContainText(`we sent a link to ${email}`);
  // The link mailed at signup, which the one sent again replaces.
  let first = "";
  await expect
    .poll(() => (first = linkInMail(email, "/user/verify-email", "ghv_")), { timeout: 30_000 })
    .toContain("token=ghv_");
  await banner.getByRole("button", { name: "Resend verification email" }).click();
  await expect(banner.getByRole("status")).toHaveText("Sent. Check your inbox (and your spam folder).");

  let link = "";
  await expect
    .poll(() => {
      const newest = linkInMail(email, "/user/verify-email", "ghv_");
      return (link = newest === first ? "" : newest);
    }, { timeout: 30_000 })
    .toContain("token=ghv_");
  await open(page, link);
  // Opening the link changes nothing: the page names the account and asks.
  await expect(page.getByTestId("verify-account")).toContainText(email);
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(page.getByTestId("email-verified")).toContainText(`your address is verified, ${email}`);
  await expect(page.getByTestId("verify-banner")).toHaveCount(0);
  await page.getByRole("link", { name: "Continue to Gatehouse" }).click();
  await expect(page.getByRole("heading", { name: `Welcome to ${email}` })).toBeVisible();
  await expect(page.getByTestId("verify-banner")).toHaveCount(0);
});

test("a user makes a personal access token, uses it as Label Studio's SDK does, and revokes it", async ({ page, request }) => {
  await signUp(page, uniqueEmail());
  await open(page, "/user/account");
  const section = page.getByTestId("personal-tokens");
  await expect(section.getByTestId("no-personal-token")).toBeVisible();
  await section.getByRole("button", { name: "Create token" }).click();
  const shown = section.getByTestId("new-personal-token");
  await expect(shown).toBeVisible();
  const token = await shown.inputValue();
  expect(token.split(".")).toHaveLength(3);
  await expect(section.getByText("Copy it now: it will not be shown again.")).toBeVisible();
  await expect(section.getByTestId("personal-token")).toContainText("never used");

  // Exchanged for an access token, which works as Bearer.
  const refreshed = await request.post("/api/token/refresh/", { data: { refresh: token } });
  expect(refreshed.status()).toBe(200);
  const { access } = await refreshed.json();
  const org = await request.get("/api/organization/", { headers: { Authorization: `Bearer ${access}` } });
  expect(org.status()).toBe(200);

  // One at a time: a second is made only after revoking this one.
  await expect(section.getByRole("button", { name: "Create token" })).toBeDisabled();

  await section.getByRole("button", { name: "Revoke the personal access token" }).click();
  await expect(section.getByTestId("no-personal-token")).toBeVisible();
  await expect(shown).toBeHidden();
  const after = await request.get("/api/organization/", { headers: { Authorization: `Bearer ${access}` } });
  expect(after.status()).toBe(401);
});

test("an owner turns legacy API tokens off and on from the Organization page", async ({ page, request }) => {
  await signUp(page, uniqueEmail());
  const token = (await (await page.request.get("/api/current-user/token")).json()).token;
  const asScript = () => request.get("/api/organization/", { headers: { Authorization: `Token ${token}` } });
  expect((await asScript()).status()).toBe(200);

  await open(page, "/organization");
  const settings = page.getByTestId("token-settings");
  await settings.getByTestId("legacy-tokens").uncheck();
  await settings.getByRole("button", { name: "Save token settings" }).click();
  await expect(settings.getByText("Saved.")).toBeVisible();
  const refused = await asScript();
  expect(refused.status()).toBe(401);
  expect((await refused.json()).detail).toContain("Legacy API tokens are disabled for this organization");
  await open(page, "/user/account");
  await expect(page.getByTestId("api-token-refused")).toBeVisible();
  await open(page, "/organization");

  await settings.getByLabel("Days a new personal access token lives").fill("0");
  await settings.getByTestId("legacy-tokens").check();
  await settings.getByRole("button", { name: "Save token settings" }).click();
  await expect(settings.getByText("A personal access token lives between 1 and 73000 days.")).toBeVisible();
  await settings.getByLabel("Days a new personal access token lives").fill("90");
  await settings.getByRole("button", { name: "Save token settings" }).click();
  await expect(settings.getByText("Saved.")).toBeVisible();
  expect((await asScript()).status()).toBe(200);
  await open(page, "/organization");
  await expect(page.getByTestId("token-settings").getByLabel("Days a new personal access token lives")).toHaveValue("90");
  await open(page, "/user/account");
  await expect(page.getByTestId("api-token")).toBeVisible();
  await expect(page.getByTestId("api-token-refused")).toHaveCount(0);
});
