import { Page } from "@playwright/test";
import { expect, linkInMail, open, PASSWORD, signUp, test, uniqueEmail } from "./helpers";

/** Invites `email` with `role` into the organization of whoever `page` is signed in as, through
 *  the REST API with their token, as a script would. */
async function invite(page: Page, email: string, role: string): Promise<void> {
  const tokenResponse = await page.request.get("/api/current-user/token");
  expect(tokenResponse.status()).toBe(200);
  const { token } = await tokenResponse.json();
  const response = await page.request.post("/api/invite/send-email", {
    headers: { Authorization: `Token ${token}` },
    data: { emails: [email], role },
  });
  expect(response.status()).toBe(200);
  expect((await response.json()).results[0].status).toBe("invited");
}

/** The newest invitation link mailed to `email`, once it has come. */
async function newestInvitation(email: string, previous = ""): Promise<string> {
  let link = "";
  await expect
    .poll(() => (link = linkInMail(email, "/user/signup", "ghi_")), { message: `an invitation to ${email}`, timeout: 30_000 })
    .toMatch(new RegExp(`token=ghi_${previous ? `(?!${previous.split("token=ghi_")[1]})` : ""}`));
  return link;
}

test("an owner removes a member, who is signed out, then joins a second organization by logging in", async ({ page, browser }) => {
  const firstOwner = uniqueEmail("first");
  await signUp(page, firstOwner);
  const member = uniqueEmail("member");
  await invite(page, member, "ANNOTATOR");
  const firstLink = await newestInvitation(member);

  const memberPage = await (await browser.newContext()).newPage();
  await open(memberPage, firstLink);
  await memberPage.getByLabel("Password").fill(PASSWORD);
  await memberPage.getByRole("button", { name: "Create account" }).click();
  await memberPage.waitForURL((url) => url.pathname === "/");
  await expect(memberPage.getByTestId("whoami")).toContainText("Annotator");

  // The Owner removes them from the members table, after a confirmation that names them.
  await open(page, "/organization");
  const row = page.getByTestId("members-table").getByRole("row").filter({ hasText: member });
  await row.getByRole("button", { name: "Remove" }).click();
  const confirm = page.getByRole("dialog").filter({ hasText: `Remove ${member} from the organization?` });
  await expect(confirm).toBeVisible();
  await confirm.getByRole("button", { name: "Remove member" }).click();
  await expect(row).toHaveCount(0);
  await expect(page.getByTestId("seats")).toHaveText("Seats: 1 / unlimited");

  // Their session has ended; signing in again, they belong to no organization.
  await memberPage.reload();
  await expect(memberPage).toHaveURL(/\/user\/login/);
  await expect(memberPage.locator("body[data-hydrated]")).toBeAttached();
  await memberPage.getByLabel("Email").fill(member);
  await memberPage.getByLabel("Password").fill(PASSWORD);
  await memberPage.getByRole("button", { name: "Log in" }).click();
  await memberPage.waitForURL((url) => url.pathname === "/");
  await expect(memberPage.getByRole("heading", { name: "You are not a member of any organization" })).toBeVisible();
  await expect(memberPage.getByTestId("whoami")).toContainText("No organization");

  // A second organization invites them; the invitation is accepted by logging in.
  const secondOwnerPage = await (await browser.newContext()).newPage();
  const secondOwner = uniqueEmail("second");
  await signUp(secondOwnerPage, secondOwner);
  await invite(secondOwnerPage, member, "REVIEWER");
  const secondLink = await newestInvitation(member, firstLink);
  await open(memberPage, secondLink);
  await expect(memberPage.getByTestId("signup-intro")).toContainText(`You already have an account for ${member}`);
  await memberPage.getByRole("link", { name: "Log in to accept" }).click();
  await expect(memberPage.getByTestId("login-intro")).toHaveText("Log in to accept the invitation.");
  await expect(memberPage.locator("body[data-hydrated]")).toBeAttached();
  await memberPage.getByLabel("Email").fill(member);
  await memberPage.getByLabel("Password").fill(PASSWORD);
  await memberPage.getByRole("button", { name: "Log in" }).click();
  await memberPage.waitForURL((url) => url.pathname === "/");
  await expect(memberPage.getByTestId("whoami")).toContainText("Reviewer");
  await expect(memberPage.getByRole("heading", { name: `Welcome to ${secondOwner}` })).toBeVisible();

  // The second Owner sees them in the members table with the invited role, address verified.
  await open(secondOwnerPage, "/organization");
  const theirRow = secondOwnerPage.getByTestId("members-table").getByRole("row").filter({ hasText: member });
  await expect(theirRow.getByRole("combobox", { name: `Role of ${member}` })).toHaveValue("REVIEWER");
  await expect(theirRow).not.toContainText("Email not verified");
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
  await expect(page.getByTestId("email-verified")).toContainText(`your address is verified, ${email}`);
  await expect(page.getByTestId("verify-banner")).toHaveCount(0);
  await page.getByRole("link", { name: "Continue to Gatehouse" }).click();
  await expect(page.getByRole("heading", { name: `Welcome to ${email}` })).toBeVisible();
  await expect(page.getByTestId("verify-banner")).toHaveCount(0);
});
