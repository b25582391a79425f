import { Browser, Page } from "@playwright/test";
import { expect, linkInMail, PASSWORD, test, uniqueEmail } from "./helpers";

// Every journey here runs with JavaScript turned off: each form is a plain HTML form.
test.use({ javaScriptEnabled: false });

/** Signs up a new Owner through the form; lands in the app. */
async function signUpWithoutJs(page: Page, email: string): Promise<void> {
  await page.goto("/user/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await expect(page.getByRole("heading", { name: `Welcome to ${email}` })).toBeVisible();
}

/** A browser of someone else's, also without JavaScript. */
async function otherBrowser(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled: false });
  return context.newPage();
}

/** Opens the Invite people dialog from the Organization page. */
async function openInviteDialog(page: Page) {
  await page.goto("/organization");
  await page.getByRole("button", { name: "Invite People", exact: true }).click();
  await expect(page).toHaveURL(/\/organization\?invite=link$/);
  const dialog = page.getByRole("dialog", { name: "Invite people" });
  await expect(dialog).toBeVisible();
  return dialog;
}

test("signing up without a link lands in the app, and a signed-in visitor of the signup and login pages goes there too", async ({ page }) => {
  const email = uniqueEmail();
  await signUpWithoutJs(page, email);
  await expect(page.getByTestId("whoami")).toContainText(email);
  for (const path of ["/user/signup", "/user/login"]) {
    await page.goto(path);
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole("heading", { name: `Welcome to ${email}` })).toBeVisible();
  }

  // The menu's links and "Log out" work without JavaScript too.
  await page.getByRole("navigation", { name: "Main" }).getByRole("button", { name: "Log out" }).click();
  await page.waitForURL((url) => url.pathname === "/user/login");
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
});

test("a wrong password shows the error in the page, then the right one lands in the app", async ({ page, browser }) => {
  const email = uniqueEmail();
  await signUpWithoutJs(await otherBrowser(browser), email);

  await page.goto("/user/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/user\/login\?__path=/);
  await expect(page.getByRole("alert").filter({ hasText: "The email and password you entered don't match." })).toBeVisible();

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((url) => url.pathname === "/" && url.search === "");
  await expect(page.getByRole("heading", { name: `Welcome to ${email}` })).toBeVisible();
});

test("an owner invites two addresses and sees the result of each; an invitee signs up through the email", async ({ page, browser }) => {
  const owner = uniqueEmail();
  await signUpWithoutJs(page, owner);
  const dialog = await openInviteDialog(page);

  const invitee = uniqueEmail("invitee");
  const second = uniqueEmail("second");
  await dialog.getByLabel("Email addresses").fill(`${invitee}, ${second}`);
  await dialog.getByLabel("Role", { exact: true }).selectOption("REVIEWER");
  await dialog.getByRole("button", { name: "Send invitations" }).click();
  await expect(page).toHaveURL(/\/organization\?invite=email&invited=/);
  const results = page.getByTestId("invite-results");
  await expect(results.locator("li").filter({ hasText: invitee })).toContainText("Invited");
  await expect(results.locator("li").filter({ hasText: second })).toContainText("Invited");
  for (const address of [invitee, second]) {
    await expect(page.getByTestId("pending-invitations").getByRole("row").filter({ hasText: address })).toContainText("Reviewer");
  }

  // An address that cannot be one is reported as such, beside the one that was invited.
  const third = uniqueEmail("third");
  await page.getByRole("dialog", { name: "Invite people" }).getByLabel("Email addresses").fill(`not-an-address; ${third}`);
  await page.getByRole("dialog", { name: "Invite people" }).getByRole("button", { name: "Send invitations" }).click();
  await expect(results.locator("li").filter({ hasText: "not-an-address" })).toContainText("Invalid address");
  await expect(results.locator("li").filter({ hasText: third })).toContainText("Invited");
  await expect(results.locator("li")).toHaveCount(2);

  // The invitee opens the link in the message and signs up as a Reviewer.
  await expect.poll(() => linkInMail(invitee, "/user/signup", "ghi_"), { timeout: 15_000 }).not.toBe("");
  const link = linkInMail(invitee, "/user/signup", "ghi_");
  const other = await otherBrowser(browser);
  await other.goto(link);
  await expect(other.getByRole("heading", { name: `Join ${owner}` })).toBeVisible();
  await expect(other.getByLabel("Email")).toHaveValue(invitee);
  await other.getByLabel("Password").fill(PASSWORD);
  await other.getByRole("button", { name: "Create account" }).click();
  await other.waitForURL((url) => url.pathname === "/");
  await expect(other.getByTestId("whoami")).toContainText(`${invitee} · Reviewer`);
});

test("an owner resets the invite link after confirming, and changes a member's role with the button beside the drop-down", async ({ page, browser }) => {
  const owner = uniqueEmail();
  await signUpWithoutJs(page, owner);
  let dialog = await openInviteDialog(page);
  const input = dialog.getByRole("textbox", { name: "Invite link" });
  await expect(input).toHaveValue(/\/user\/signup\?token=ghl_/);
  const link = await input.inputValue();

  // Someone joins through the link: they wait for a role.
  const joiner = uniqueEmail("joiner");
  const other = await otherBrowser(browser);
  await other.goto(link);
  await other.getByLabel("Email").fill(joiner);
  await other.getByLabel("Password").fill(PASSWORD);
  await other.getByRole("button", { name: "Create account" }).click();
  await other.waitForURL((url) => url.pathname === "/");
  await expect(other.getByRole("heading", { name: "Waiting for your role" })).toBeVisible();

  // Reset Link asks first, in the page; Cancel keeps the link.
  await dialog.getByRole("button", { name: "Reset Link", exact: true }).click();
  await expect(page).toHaveURL(/confirm=reset-link/);
  await expect(page.getByText("Reset the link? The current link stops working at once")).toBeVisible();
  await page.getByRole("link", { name: "Cancel" }).click();
  dialog = page.getByRole("dialog", { name: "Invite people" });
  await expect(dialog.getByRole("textbox", { name: "Invite link" })).toHaveValue(link);
  await dialog.getByRole("button", { name: "Reset Link", exact: true }).click();
  await page.getByRole("button", { name: "Reset link", exact: true }).click();
  await expect(page).toHaveURL(/\/organization\?invite=link&done=/);
  await expect(page.getByText("The old link no longer works.")).toBeVisible();
  await expect(dialog.getByRole("textbox", { name: "Invite link" })).not.toHaveValue(link);
  await expect(dialog.getByRole("textbox", { name: "Invite link" })).toHaveValue(/\/user\/signup\?token=ghl_/);

  // The old link no longer works.
  await other.context().clearCookies();
  await other.goto(link);
  await expect(other.getByRole("heading", { name: "This invite link can't be used" })).toBeVisible();

  // "Close" closes the dialog without JavaScript too; the Pending member then gets a role with
  // the button beside the drop-down.
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(page).toHaveURL(/\/organization\??$/);
  await expect(page.getByRole("dialog", { name: "Invite people" })).toBeHidden();
  const row = page.getByTestId("members-table").getByRole("row").filter({ hasText: joiner });
  const select = row.getByRole("combobox", { name: `Role of ${joiner}` });
  await expect(select).toHaveValue("NOT_ACTIVATED");
  await select.selectOption("ANNOTATOR");
  await row.getByRole("button", { name: "Save role" }).click();
  await expect(page).toHaveURL(/\/organization\?done=/);
  await expect(page.getByTestId("members-outcome")).toHaveText("Role saved.");
  await expect(
    page.getByTestId("members-table").getByRole("row").filter({ hasText: joiner }).getByRole("combobox"),
  ).toHaveValue("ANNOTATOR");
});

test.describe("before the app is interactive", () => {
  test.use({ javaScriptEnabled: true });

  test("what is typed into the login form before the WASM has loaded is kept, and signs in", async ({ page, browser }) => {
    const email = uniqueEmail();
    await signUpWithoutJs(await otherBrowser(browser), email);

    // The app's script and WASM are held back until the form is filled in.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = 0;
    await page.route(/\/pkg\/.*\.(js|wasm)$/, async (route) => {
      held += 1;
      await released;
      await route.continue();
    });
    await page.goto("/user/login", { waitUntil: "commit" });
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await expect(page.locator("body[data-hydrated]")).not.toBeAttached();
    await expect.poll(() => held).toBeGreaterThan(0);

    release();
    await expect(page.locator("body[data-hydrated]")).toBeAttached();
    await expect(page.getByLabel("Email")).toHaveValue(email);
    await expect(page.getByLabel("Password")).toHaveValue(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL((url) => url.pathname === "/");
    await expect(page.getByTestId("whoami")).toContainText(email);
  });
});
