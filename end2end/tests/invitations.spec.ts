import { Locator, Page } from "@playwright/test";
import { OPEN_URL } from "../playwright.config";
import { expect, linkInMail, open, openMenu, PASSWORD, signUp, test, uniqueEmail } from "./helpers";

const INVALID_LINK = "This invite link is invalid or has been reset. Ask your administrator for a new one.";
const RESET_QUESTION =
  "Reset the link? The current link stops working at once; people who already joined keep their accounts.";

// "Copy link" writes to the clipboard; the test reads it back.
test.use({ permissions: ["clipboard-read", "clipboard-write"] });

/** Opens the "Invite people" dialog from the Organization page; returns it. */
async function openInviteDialog(page: Page): Promise<Locator> {
  await page.getByRole("button", { name: "Invite People", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "Invite people" });
  await expect(dialog).toBeVisible();
  return dialog;
}

test("an owner shares the invite link, a new member joins as Pending, and a reset link kills the old one", async ({ page, browser }) => {
  const owner = uniqueEmail();
  await signUp(page, owner);
  await (await openMenu(page)).getByRole("link", { name: "Organization" }).click();
  await expect(page).toHaveURL(/\/organization$/);
  await expect(page.locator("body[data-hydrated]")).toBeAttached();

  // The dialog opens on the Invite link tab, with focus inside it.
  let dialog = await openInviteDialog(page);
  const linkTab = dialog.getByRole("tab", { name: "Invite link" });
  await expect(linkTab).toHaveAttribute("aria-selected", "true");
  await expect(linkTab).toBeFocused();
  const linkInput = dialog.getByRole("textbox", { name: "Invite link" });
  await expect(linkInput).toHaveValue(/\/user\/signup\?token=ghl_/);
  await expect(linkInput).toHaveAttribute("readonly", "");
  const link = await linkInput.inputValue();

  await dialog.getByRole("button", { name: "Copy link" }).click();
  await expect(dialog.getByText("Copied!")).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);

  // Tab and Shift+Tab stay inside the dialog.
  const close = dialog.getByRole("button", { name: "Close" });
  const resetButton = dialog.getByRole("button", { name: "Reset Link", exact: true });
  await linkTab.focus();
  await page.keyboard.press("Shift+Tab");
  await expect(close).toBeFocused();
  await page.keyboard.press("Shift+Tab");
  await expect(resetButton).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(close).toBeFocused();

  // Escape closes it and gives focus back; opening it again shows the same link.
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("button", { name: "Invite People", exact: true })).toBeFocused();
  dialog = await openInviteDialog(page);
  await expect(dialog.getByRole("textbox", { name: "Invite link" })).toHaveValue(link);
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(dialog).toBeHidden();

  // Someone else opens the link and signs up: they wait for a role.
  const joiner = uniqueEmail("joiner");
  const joinerContext = await browser.newContext();
  const joinerPage = await joinerContext.newPage();
  await open(joinerPage, link);
  await expect(joinerPage.getByRole("heading", { name: `Join ${owner}` })).toBeVisible();
  await expect(joinerPage.getByText("an administrator of the organization will assign your role")).toBeVisible();
  await joinerPage.getByLabel("Email").fill(joiner);
  await joinerPage.getByLabel("Password").fill(PASSWORD);
  await joinerPage.getByRole("button", { name: "Create account" }).click();
  await joinerPage.waitForURL((url) => url.pathname === "/");
  await expect(joinerPage.getByRole("heading", { name: "Waiting for your role" })).toBeVisible();
  await joinerContext.close();

  // The Owner sees them as Pending; the role filter and the search narrow the table.
  await page.reload();
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
  const members = page.getByTestId("members-table");
  await expect(members.getByRole("combobox", { name: `Role of ${joiner}` })).toHaveValue("NOT_ACTIVATED");
  await expect(members.getByRole("row").filter({ hasText: owner })).toContainText("Owner");
  await expect(members.getByRole("combobox", { name: `Role of ${owner}` })).toHaveCount(0);
  await expect(page.getByText("Showing 1–2 of 2")).toBeVisible();
  await page.getByLabel("Filter by role").selectOption({ label: "Pending" });
  await expect(members.getByRole("row").filter({ hasText: owner })).toHaveCount(0);
  await expect(members).toContainText(joiner);
  await page.getByLabel("Filter by role").selectOption({ label: "All roles" });
  await expect(members).toContainText(owner);
  await page.getByRole("searchbox", { name: "Search" }).fill("nobody-by-this-name");
  await expect(page.getByText("No members match.")).toBeVisible();
  await page.getByRole("searchbox", { name: "Search" }).fill(joiner);
  await expect(members.getByRole("row").filter({ hasText: joiner })).toBeVisible();
  await expect(members.getByRole("row").filter({ hasText: owner })).toHaveCount(0);

  // Reset the link, after a confirmation; the new link differs.
  dialog = await openInviteDialog(page);
  const input = dialog.getByRole("textbox", { name: "Invite link" });
  await expect(input).toHaveValue(link);
  // The question is a dialog of its own: Escape closes it alone and gives focus back.
  await dialog.getByRole("button", { name: "Reset Link", exact: true }).click();
  await expect(page.getByRole("dialog", { name: RESET_QUESTION })).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(page.getByRole("dialog", { name: RESET_QUESTION })).toBeHidden();
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("button", { name: "Reset Link", exact: true })).toBeFocused();
  await dialog.getByRole("button", { name: "Reset Link", exact: true }).click();
  await expect(dialog.getByText(RESET_QUESTION)).toBeVisible();
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog.getByText(RESET_QUESTION)).toBeHidden();
  await expect(input).toHaveValue(link);
  await dialog.getByRole("button", { name: "Reset Link", exact: true }).click();
  await dialog.getByRole("button", { name: "Reset link", exact: true }).click();
  await expect(dialog.getByText("The old link no longer works.")).toBeVisible();
  await expect(input).not.toHaveValue(link);
  await expect(input).toHaveValue(/\/user\/signup\?token=ghl_/);
  const newLink = await input.inputValue();

  // The old link is dead: the signup page says so and offers no form.
  const lateContext = await browser.newContext();
  const latePage = await lateContext.newPage();
  await open(latePage, link);
  await expect(latePage.getByText(INVALID_LINK)).toBeVisible();
  await expect(latePage.getByLabel("Password")).toHaveCount(0);
  // The new one works.
  await open(latePage, newLink);
  await expect(latePage.getByRole("heading", { name: `Join ${owner}` })).toBeVisible();
  await expect(latePage.getByLabel("Password")).toBeVisible();
  await lateContext.close();

  // The joiner's account survived the reset.
  await page.reload();
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
  await expect(page.getByTestId("members-table").getByRole("combobox", { name: `Role of ${joiner}` })).toHaveValue("NOT_ACTIVATED");
});

test("an owner invites two people by email; one registers through the emailed link with the role given, the other is revoked", async ({ page, browser }) => {
  const owner = uniqueEmail();
  await signUp(page, owner);
  await open(page, "/organization");
  await expect(page.getByTestId("pending-invitations")).toContainText("No pending invitations.");

  const first = uniqueEmail("reviewer");
  const second = uniqueEmail("reviewer");
  const dialog = await openInviteDialog(page);
  const emailTab = dialog.getByRole("tab", { name: "Invite via email" });
  await emailTab.click();
  await expect(emailTab).toHaveAttribute("aria-selected", "true");
  await expect(dialog.getByLabel("Role", { exact: true })).toHaveValue("ANNOTATOR");
  await dialog.getByLabel("Email addresses").fill(`${first}, ${second}`);
  await dialog.getByLabel("Role", { exact: true }).selectOption({ label: "Reviewer" });
  await dialog.getByRole("button", { name: "Send invitations" }).click();

  const results = dialog.getByTestId("invite-results");
  await expect(results.getByRole("listitem")).toHaveCount(2);
  await expect(results.getByRole("listitem").filter({ hasText: first })).toContainText("Invited");
  await expect(results.getByRole("listitem").filter({ hasText: second })).toContainText("Invited");
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(dialog).toBeHidden();

  const pending = page.getByTestId("pending-invitations");
  await expect(pending.getByRole("row").filter({ hasText: first })).toContainText("Reviewer");
  await expect(pending.getByRole("row").filter({ hasText: second })).toContainText("Reviewer");
  await expect(pending.getByRole("row").filter({ hasText: first })).toContainText(owner);

  // The message to the first address carries its own link.
  let invitationLink = "";
  await expect
    .poll(() => (invitationLink = linkInMail(first, "/user/signup", "ghi_")), { message: `an invitation email to ${first}`, timeout: 30_000 })
    .toMatch(/token=ghi_/);
  expect(invitationLink.startsWith(OPEN_URL)).toBe(true);

  // The invitee registers with the address fixed, and can work at once as a Reviewer.
  const inviteeContext = await browser.newContext();
  const invitee = await inviteeContext.newPage();
  await open(invitee, invitationLink);
  await expect(invitee.getByRole("heading", { name: `Join ${owner}` })).toBeVisible();
  await expect(invitee.getByText("You are invited as Reviewer.")).toBeVisible();
  const email = invitee.getByLabel("Email");
  await expect(email).toHaveValue(first);
  await expect(email).toHaveAttribute("readonly", "");
  await invitee.getByLabel("Password").fill(PASSWORD);
  await invitee.getByRole("button", { name: "Create account" }).click();
  await invitee.waitForURL((url) => url.pathname === "/");
  await expect(invitee.locator("body[data-hydrated]")).toBeAttached();
  await expect(invitee.getByTestId("whoami")).toContainText(first);
  await expect(invitee.getByTestId("whoami")).toContainText("Reviewer");
  await inviteeContext.close();

  // The Owner revokes the second invitation, after a confirmation.
  await page.reload();
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
  await expect(page.getByTestId("members-table").getByRole("combobox", { name: `Role of ${first}` })).toHaveValue("REVIEWER");
  const secondRow = pending.getByRole("row").filter({ hasText: second });
  await secondRow.getByRole("button", { name: "Revoke" }).click();
  await expect(pending.getByText(`Revoke invitation for ${second}?`)).toBeVisible();
  await secondRow.getByRole("button", { name: "Revoke", exact: true }).click();
  await expect(pending.getByRole("status")).toHaveText(`Invitation for ${second} revoked.`);
  await expect(pending).toContainText("No pending invitations.");
});

test("the invite dialog keeps Tab and Escape once focus has fallen out of it (Send invitations was disabled while sending)", async ({ page }) => {
  await signUp(page, uniqueEmail());
  await open(page, "/organization");
  const dialog = await openInviteDialog(page);
  await dialog.getByRole("tab", { name: "Invite via email" }).click();
  await dialog.getByLabel("Email addresses").fill(uniqueEmail("invitee"));
  await dialog.getByRole("button", { name: "Send invitations" }).click();
  await expect(dialog.getByTestId("invite-results").getByRole("listitem")).toHaveCount(1);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press("Tab");
  await expect(dialog.getByRole("button", { name: "Close" })).toBeFocused();
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("button", { name: "Invite People", exact: true })).toBeFocused();
});

test("pending invitations are listed twenty a page and filtered by address", async ({ page }) => {
  await signUp(page, uniqueEmail());
  const tag = uniqueEmail("page").split("@")[0];
  const emails = Array.from({ length: 23 }, (_, i) => `${tag}-${i}@example.com`);
  const sent = await page.request.post("/api/invite/send-email", { data: { emails, role: "ANNOTATOR" } });
  expect(sent.status()).toBe(200);

  await open(page, "/organization");
  const pending = page.getByTestId("pending-invitations");
  const rows = pending.getByTestId("invitations-table").locator("tbody tr");
  await expect(pending.getByTestId("invitations-range")).toHaveText("Showing 1–20 of 23");
  await expect(rows).toHaveCount(20);
  await pending.getByRole("button", { name: "Next" }).click();
  await expect(pending.getByTestId("invitations-range")).toHaveText("Showing 21–23 of 23");
  await expect(rows).toHaveCount(3);

  // The filter starts again at the first page: -1 and -10 to -19.
  await pending.getByRole("searchbox", { name: "Filter by email" }).fill(`${tag}-1`);
  await expect(pending.getByTestId("invitations-range")).toHaveText("Showing 1–11 of 11");
  await expect(rows).toHaveCount(11);
  await pending.getByRole("searchbox", { name: "Filter by email" }).fill("nobody-by-this-address");
  await expect(pending.getByText("No pending invitations match.")).toBeVisible();
});

test("when the clipboard refuses the link, Copy link selects it and says how to copy it", async ({ page }) => {
  // The browser turns the write down (as it does without permission, or out of focus).
  await page.addInitScript(() => {
    Object.defineProperty(navigator.clipboard, "writeText", {
      value: () => Promise.reject(new DOMException("Write permission denied.", "NotAllowedError")),
    });
  });
  await signUp(page, uniqueEmail());
  await open(page, "/organization");
  const dialog = await openInviteDialog(page);
  const linkInput = dialog.getByRole("textbox", { name: "Invite link" });
  await expect(linkInput).toHaveValue(/\/user\/signup\?token=ghl_/);

  await dialog.getByRole("button", { name: "Copy link" }).click();
  await expect(dialog.getByText("Press Ctrl+C to copy")).toBeVisible();
  await expect(dialog.getByText("Copied!")).toHaveCount(0);
  await expect(linkInput).toBeFocused();
  const [start, end, length] = await linkInput.evaluate((input: HTMLInputElement) => [input.selectionStart, input.selectionEnd, input.value.length]);
  expect([start, end]).toEqual([0, length]);
});
