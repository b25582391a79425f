import { CLOSED_URL } from "../playwright.config";
import { expect, isCspViolation, open, openMenu, PASSWORD, signUp, test, uniqueEmail } from "./helpers";

test("an owner signs up, renames the organization in the page and through the API, logs out and back in", async ({ page, request }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await expect(page.getByRole("heading", { name: `Welcome to ${email}` })).toBeVisible();
  await expect(page.getByTestId("whoami")).toContainText("Owner");

  // The menu in the upper left leads to the Organization page.
  await (await openMenu(page)).getByRole("link", { name: "Organization" }).click();
  await expect(page).toHaveURL(/\/organization$/);
  await expect(page.getByTestId("org-title")).toHaveText(email);
  await expect(page.getByTestId("seats")).toHaveText("Seats: 1 / unlimited");

  await page.getByLabel("Title").fill("Acme Labeling");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  await expect(page.getByTestId("org-title")).toHaveText("Acme Labeling");
  await page.reload();
  await expect(page.getByTestId("org-title")).toHaveText("Acme Labeling");

  // The token from the Account page works for the REST API.
  await (await openMenu(page)).getByRole("link", { name: "Account" }).click();
  await expect(page.getByTestId("account-email")).toHaveText(email);
  await expect(page.getByTestId("account-role")).toHaveText("Owner");
  const token = await page.getByTestId("api-token").inputValue();
  expect(token).toMatch(/^ght_/);
  await page.getByRole("button", { name: "Copy", exact: true }).click();
  await expect(page.getByText("Copied!")).toBeVisible();
  const response = await request.patch("/api/organization/", {
    headers: { Authorization: `Token ${token}` },
    data: { title: "Renamed by script" },
  });
  expect(response.status()).toBe(200);
  expect((await response.json()).title).toBe("Renamed by script");
  await open(page, "/organization");
  await expect(page.getByTestId("org-title")).toHaveText("Renamed by script");

  // Log out, then back in.
  await (await openMenu(page)).getByRole("button", { name: "Log out" }).click();
  await page.waitForURL((url) => url.pathname === "/user/login");
  await open(page, "/organization");
  await expect(page).toHaveURL(/\/user\/login$/);
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("wrong password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByText("The email and password you entered don't match.")).toBeVisible();
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await expect(page.getByTestId("whoami")).toContainText(email);
});

test("signup errors appear next to the field and keep what was typed", async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await page.context().clearCookies();

  // A registered address is answered as a new one (its owner is mailed instead): the browser
  // goes on, and is asked to sign in.
  await open(page, "/user/signup");
  await page.getByLabel("Email").fill(email.toUpperCase());
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL((url) => url.pathname === "/user/login");
  await expect(page.getByText("already exists")).toHaveCount(0);

  await open(page, "/user/signup");
  await page.getByLabel("Email").fill(uniqueEmail());
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByLabel("Password")).toHaveAccessibleDescription("Use at least 8 characters for your password.");
  await expect(page.getByRole("alert").filter({ hasText: "Use at least 8 characters for your password." })).toBeVisible();
});

test("with signup disabled, the signup page explains that an invitation is needed", async ({ page }) => {
  await open(page, `${CLOSED_URL}/user/signup`);
  await expect(page.getByRole("heading", { name: "Signing up needs an invitation" })).toBeVisible();
  await expect(page.getByText("Ask an administrator of your organization for an invite link")).toBeVisible();
  await expect(page.getByLabel("Password")).toHaveCount(0);
  await open(page, `${CLOSED_URL}/user/login`);
  await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Sign up" })).toHaveCount(0);
});

test("each page fetches only its own code: the Organization page's chunk loads when it is first opened", async ({ page }) => {
  const wasm: string[] = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith(".wasm")) wasm.push(path);
  });

  await open(page, "/user/login");
  expect(wasm).toContain("/pkg/gatehouse.wasm");
  expect(wasm.some((path) => path.includes("login_view"))).toBe(true);
  expect(wasm.some((path) => path.includes("organization_view"))).toBe(false);

  await signUp(page, uniqueEmail());
  expect(wasm.some((path) => path.includes("organization_view"))).toBe(false);
  // Navigating in the page (no reload) fetches the Organization page's code, and the page works.
  await (await openMenu(page)).getByRole("link", { name: "Organization" }).click();
  await expect(page.getByTestId("seats")).toHaveText("Seats: 1 / unlimited");
  expect(wasm.some((path) => path.includes("organization_view"))).toBe(true);
  await page.getByRole("button", { name: "Invite People" }).click();
  await expect(page.getByRole("dialog", { name: "Invite people" })).toBeVisible();
});

test("the Content-Security-Policy refuses a script injected into a page, and the journey's guard hears of it", async ({ page, cspViolations }) => {
  await open(page, "/user/login");
  const refused = page.waitForEvent("console", (message) => isCspViolation(message.text()));
  await page.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "window.injected = true;";
    document.head.append(script);
  });
  await refused;
  expect(await page.evaluate(() => "injected" in window)).toBe(false);
  expect(cspViolations.join("\n")).toContain("script-src");
  // This journey's violation was the point of it.
  cspViolations.length = 0;
});
