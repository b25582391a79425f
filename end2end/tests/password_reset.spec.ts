import { expect, linkInMail, open, signUp, test, uniqueEmail } from "./helpers";

const SENT = "If an account exists for that address, we sent a link.";
const NEW_PASSWORD = "a brand new password";

test("a forgotten password is reset through the link in the mail, which ends the other sessions", async ({ page, browser }) => {
  const email = uniqueEmail();
  // The first browser stays signed in: the reset must end its session.
  await signUp(page, email);

  const context = await browser.newContext();
  const visitor = await context.newPage();
  await open(visitor, "/user/login");
  await visitor.getByRole("link", { name: "Forgot password?" }).click();
  await expect(visitor).toHaveURL(/\/user\/forgot-password$/);
  await visitor.getByLabel("Email").fill(email);
  await visitor.getByRole("button", { name: "Send reset link" }).click();
  await expect(visitor.getByTestId("reset-requested")).toHaveText(SENT);

  // An address without an account is answered alike.
  await open(visitor, "/user/forgot-password");
  await visitor.getByLabel("Email").fill(uniqueEmail("nobody"));
  await visitor.getByRole("button", { name: "Send reset link" }).click();
  await expect(visitor.getByTestId("reset-requested")).toHaveText(SENT);

  let link = "";
  await expect.poll(() => (link = linkInMail(email, "/user/reset-password", "ghr_")), { timeout: 20_000 }).toContain("token=ghr_");
  await open(visitor, link);
  await visitor.getByLabel("New password").fill(NEW_PASSWORD);
  await visitor.getByRole("button", { name: "Set new password" }).click();
  await visitor.waitForURL((url) => url.pathname === "/");
  await expect(visitor.getByText(`You are signed in as ${email}`)).toBeVisible();

  // The first browser's session has ended.
  await page.reload();
  await expect(page).toHaveURL(/\/user\/login/);

  // The link works once.
  await open(visitor, link);
  await visitor.getByLabel("New password").fill("yet another password");
  await visitor.getByRole("button", { name: "Set new password" }).click();
  await expect(visitor.getByRole("alert").filter({ hasText: "Request a new one." })).toBeVisible();

  // The new password signs in.
  await open(page, "/user/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await context.close();
});
