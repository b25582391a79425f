import { Browser, Page } from "@playwright/test";
import { expect, open, openMenu, PASSWORD, signUp, test, uniqueEmail } from "./helpers";

/** Someone registers through the Owner's invite link in a browser of their own; returns their email. */
async function joinThroughLink(owner: Page, browser: Browser): Promise<string> {
  const response = await owner.request.get("/api/invite");
  expect(response.status()).toBe(200);
  const { invite_url } = await response.json();
  const page = await (await browser.newContext()).newPage();
  const email = uniqueEmail("member");
  await open(page, invite_url);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  return email;
}

test("an admin changes a role and sees the line on the Activity page", async ({ page, browser }) => {
  const owner = uniqueEmail();
  await signUp(page, owner);
  const member = await joinThroughLink(page, browser);

  await open(page, "/organization");
  await page.getByRole("combobox", { name: `Role of ${member}` }).selectOption("REVIEWER");
  const dialog = page.getByRole("dialog", { name: `Give a role to ${member}?` });
  await dialog.getByRole("button", { name: "Give the role" }).click();
  await expect(page.getByTestId("members-table").getByRole("row").filter({ hasText: member }).locator(".role-cell").getByRole("status")).toHaveText("Saved");

  // From the Organization page to the Activity page.
  await page.getByRole("link", { name: "See who did what" }).click();
  await page.waitForURL((url) => url.pathname === "/organization/activity");
  await expect(page.getByRole("heading", { name: "Activity" })).toBeVisible();
  const line = page.getByTestId("activity").getByRole("listitem").first();
  await expect(line).toContainText(`${owner} changed ${member} from Pending to Reviewer`);
  await expect(line.locator("time")).toHaveText(/^\d\d:\d\d$/);

  // The filter narrows the log; the menu leads here too.
  await page.getByLabel("Action").selectOption("member.joined");
  await expect(page.getByTestId("activity").getByRole("listitem")).toHaveCount(1);
  await expect(page.getByTestId("activity")).toContainText(`${member} joined through the invite link`);
  await open(page, "/");
  await (await openMenu(page)).getByRole("link", { name: "Activity" }).click();
  await page.waitForURL((url) => url.pathname === "/organization/activity");
  await expect(page.getByTestId("activity-range")).toContainText("of 3");
});
