import { expect, Locator, Page } from "@playwright/test";
import { randomBytes } from "node:crypto";

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
