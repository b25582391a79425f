import { spawn, ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";
import { expect, open, signUp, test, uniqueEmail } from "./helpers";

/** The OpenID Connect provider the tests use (oidc-provider), with one client that may be sent back to `redirectUrl`. */
async function startProvider(redirectUrl: string): Promise<{ issuer: string; process: ChildProcess }> {
  const child = spawn("node", [path.join(__dirname, "..", "oidc", "provider.mjs")], {
    env: {
      ...process.env,
      OIDC_PORT: "0",
      OIDC_CLIENTS: JSON.stringify([
        { client_id: "gatehouse", client_secret: "s3cret", redirect_uris: [redirectUrl] },
      ]),
    },
    stdio: ["ignore", "pipe", "ignore"],
  });
  const lines = readline.createInterface({ input: child.stdout! });
  const issuer = await new Promise<string>((resolve, reject) => {
    lines.once("line", (line) =>
      line.startsWith("OIDC_READY ") ? resolve(line.slice("OIDC_READY ".length).trim()) : reject(new Error(line)),
    );
    child.once("exit", (code) => reject(new Error(`the provider exited with ${code}`)));
  });
  return { issuer, process: child };
}

test("the Owner sets up single sign-on and a colleague signs in with it as an Administrator", async ({ page, browser }) => {
  const owner = uniqueEmail();
  await signUp(page, owner);
  await open(page, "/organization");
  await page.getByRole("link", { name: "Set up single sign-on" }).click();
  await expect(page.getByRole("heading", { name: "Single sign-on", exact: true })).toBeVisible();
  const redirectUrl = await page.getByLabel("Redirect address").inputValue();
  expect(redirectUrl).toMatch(/\/sso\/[0-9a-f]+\/oidc\/callback$/);

  const provider = await startProvider(redirectUrl);
  try {
    const domain = `${uniqueEmail("corp").split("@")[0]}.example.com`;
    const colleague = `grace@${domain}`;
    const res = await fetch(`${provider.issuer}/test/accounts/grace`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: colleague,
        email_verified: true,
        given_name: "Grace",
        family_name: "Hopper",
        groups: ["label-admins"],
      }),
    });
    expect(res.ok).toBe(true);

    const oidc = page.getByTestId("sso-oidc");
    await oidc.getByLabel("Issuer").fill(provider.issuer);
    await oidc.getByLabel("Client id").fill("gatehouse");
    await oidc.getByLabel("Client secret").fill("s3cret");
    await oidc.getByLabel("Email domains").fill(domain);
    const firstRow = page.getByTestId("oidc-mappings").locator("tbody tr").first();
    await firstRow.getByLabel("Role").selectOption("ADMINISTRATOR");
    await firstRow.getByLabel("Group").fill("label-admins");
    await oidc.getByRole("button", { name: "Save OpenID Connect" }).click();
    await expect(oidc.getByText("Saved.")).toBeVisible();
    await expect(oidc.getByTestId("sso-test")).toBeVisible();

    // The colleague signs in from the login page, in a browser of their own.
    const theirs = await (await browser.newContext()).newPage();
    await open(theirs, "/user/login");
    await theirs.getByLabel("Work address").fill(colleague);
    await theirs.getByRole("button", { name: "Continue with SSO" }).click();
    await theirs.waitForURL((url) => url.pathname === "/", { timeout: 20_000 });

    // They are a member now, with the role their group maps to.
    await open(page, "/organization");
    await expect(page.getByTestId("members-table")).toContainText("Grace Hopper");
    await expect(page.getByLabel(`Role of ${colleague}`)).toHaveValue("ADMINISTRATOR");
  } finally {
    provider.process.kill();
  }
});

test("an address whose domain signs in nowhere ends on a page that says so", async ({ page }) => {
  await open(page, "/user/login");
  await page.getByLabel("Work address").fill(`someone@${uniqueEmail("nowhere").split("@")[0]}.example.org`);
  await page.getByRole("button", { name: "Continue with SSO" }).click();
  await page.waitForURL((url) => url.pathname === "/sso/failed");
  await expect(page.getByTestId("sso-failed")).toContainText("No organization signs in addresses of this domain");
  await expect(page.getByRole("link", { name: "Back to the sign-in page" })).toBeVisible();
});
