import { Browser, Locator, Page } from "@playwright/test";
import { SEATS_URL } from "../playwright.config";
import { expect, open, openMenu, PASSWORD, test, uniqueEmail } from "./helpers";

/** Signs up a new Owner on the server at `base`. */
async function signUpOwner(page: Page, base: string): Promise<string> {
  const email = uniqueEmail();
  await open(page, `${base}/user/signup`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  return email;
}

/** Someone registers through the Owner's invite link in a browser of their own. */
async function joinThroughLink(owner: Page, browser: Browser, base: string): Promise<{ page: Page; email: string }> {
  const response = await owner.request.get(`${base}/api/invite`);
  expect(response.status()).toBe(200);
  const { invite_url } = await response.json();
  const page = await (await browser.newContext()).newPage();
  const email = uniqueEmail("member");
  await open(page, invite_url);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await expect(page.getByRole("heading", { name: "Waiting for your role" })).toBeVisible();
  return { page, email };
}

/** The members table's row of `email`. */
function memberRow(owner: Page, email: string): Locator {
  return owner.getByTestId("members-table").getByRole("row").filter({ hasText: email });
}

/** The line beside a member's role drop-down that says how the last change went. */
function roleStatus(owner: Page, email: string): Locator {
  return memberRow(owner, email).locator(".role-cell").getByRole("status");
}

/** Members who joined through the invite link never proved their address: giving them a role
 *  that takes a seat asks first. */
async function chooseRole(owner: Page, email: string, role: string): Promise<void> {
  await owner.getByRole("combobox", { name: `Role of ${email}` }).selectOption(role);
  if (!["NOT_ACTIVATED", "DEACTIVATED"].includes(role)) {
    const dialog = owner.getByRole("dialog", { name: `Give a role to ${email}?` });
    await expect(dialog).toContainText("has not been verified");
    await dialog.getByRole("button", { name: "Give the role" }).click();
  }
}

async function setRole(owner: Page, base: string, email: string, role: string): Promise<void> {
  await open(owner, `${base}/organization`);
  const select = owner.getByRole("combobox", { name: `Role of ${email}` });
  await chooseRole(owner, email, role);
  await expect(roleStatus(owner, email)).toHaveText("Saved");
  await expect(select).toHaveValue(role);
}

test("the Owner gives a Pending member a role, deactivates them and restores them; their pages follow", async ({ page, browser, baseURL }) => {
  const base = baseURL!;
  await signUpOwner(page, base);
  const member = await joinThroughLink(page, browser, base);

  await setRole(page, base, member.email, "ANNOTATOR");
  await member.page.reload();
  await expect(member.page.getByRole("heading", { name: /^Welcome to / })).toBeVisible();
  await expect(member.page.getByTestId("whoami")).toContainText("Annotator");

  await setRole(page, base, member.email, "DEACTIVATED");
  // Deactivation ended the member's session: their next navigation, inside the already open
  // app, leads to the login page, where they learn where they stand.
  await (await openMenu(member.page)).getByRole("link", { name: "Account" }).click();
  await member.page.waitForURL((url) => url.pathname === "/user/login");
  await member.page.getByLabel("Email").fill(member.email);
  await member.page.getByLabel("Password").fill(PASSWORD);
  await member.page.getByRole("button", { name: "Log in" }).click();
  await expect(member.page.getByRole("alert").filter({ hasText: "Your account has been deactivated" })).toBeVisible();

  await setRole(page, base, member.email, "REVIEWER");
  await member.page.getByRole("button", { name: "Log in" }).click();
  await member.page.waitForURL((url) => url.pathname === "/");
  await open(member.page, `${base}/user/account`);
  await expect(member.page.getByTestId("account-role")).toHaveText("Reviewer");
});

test("at the seat limit the role drop-down says there is no free seat and the role stays", async ({ page, browser }) => {
  await signUpOwner(page, SEATS_URL);
  const first = await joinThroughLink(page, browser, SEATS_URL);
  const second = await joinThroughLink(page, browser, SEATS_URL);
  await setRole(page, SEATS_URL, first.email, "ANNOTATOR");
  await expect(page.getByTestId("seats")).toHaveText("Seats: 2 / 2");

  const select = page.getByRole("combobox", { name: `Role of ${second.email}` });
  await chooseRole(page, second.email, "ANNOTATOR");
  await expect(roleStatus(page, second.email)).toHaveText(
    "No free seats: 2 of 2 in use. Deactivate a member or raise the license.",
  );
  await expect(select).toHaveValue("NOT_ACTIVATED");
  await page.reload();
  await expect(page.getByRole("combobox", { name: `Role of ${second.email}` })).toHaveValue("NOT_ACTIVATED");
  await second.page.reload();
  await expect(second.page.getByRole("heading", { name: "Waiting for your role" })).toBeVisible();
});

test("the Owner transfers ownership and both menus change", async ({ page, browser, baseURL }) => {
  const base = baseURL!;
  const owner = await signUpOwner(page, base);
  const member = await joinThroughLink(page, browser, base);
  await setRole(page, base, member.email, "MANAGER");
  await member.page.reload();
  await expect((await openMenu(member.page)).getByRole("link", { name: "Organization" })).toHaveCount(0);

  await open(page, `${base}/organization`);
  await page.getByLabel("New Owner's email").fill(member.email);
  await page.getByLabel("Your password").fill("not my password");
  await page.getByRole("button", { name: "Transfer ownership" }).click();
  await expect(page.getByLabel("Your password")).toHaveAccessibleDescription("That is not your password.");
  await expect(page.getByRole("alert").filter({ hasText: "That is not your password." })).toBeVisible();
  await page.getByLabel("Your password").fill(PASSWORD);
  await page.getByRole("button", { name: "Transfer ownership" }).click();
  await expect(page.getByTestId("whoami")).toContainText("Administrator");
  await expect(page.getByRole("button", { name: "Transfer ownership" })).toHaveCount(0);
  await expect(page.getByRole("combobox", { name: `Role of ${member.email}` })).toHaveCount(0);

  await member.page.reload();
  await expect(member.page.getByTestId("whoami")).toContainText("Owner");
  await (await openMenu(member.page)).getByRole("link", { name: "Organization" }).click();
  await expect(member.page.getByRole("combobox", { name: `Role of ${owner}` })).toHaveValue("ADMINISTRATOR");
});
