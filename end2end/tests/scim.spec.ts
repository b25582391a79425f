import { expect, open, signUp, test, uniqueEmail } from "./helpers";
import { OPEN_URL } from "../playwright.config";

/** A SCIM request as the identity provider sends it, with the organization's token. */
async function scim(token: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${OPEN_URL}/scim/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status, `${method} ${path}`).toBeLessThan(300);
  return res.status === 204 ? null : res.json();
}

test("the Owner connects the identity provider over SCIM, and a member it manages is marked and warned about", async ({ page }) => {
  const owner = uniqueEmail();
  await signUp(page, owner);
  await open(page, "/organization/sso");
  const card = page.getByTestId("scim");
  await expect(card.getByRole("heading", { name: "SCIM provisioning" })).toBeVisible();
  await expect(card.getByLabel("SCIM base address")).toHaveValue(`${OPEN_URL}/scim/v2`);
  await expect(card.getByTestId("scim-token-status")).toContainText("No token");

  await card.getByRole("button", { name: "Create token" }).click();
  const shown = card.getByTestId("new-scim-token");
  await expect(shown).toHaveValue(/^ghs_/);
  const token = await shown.inputValue();
  await expect(card.getByTestId("scim-token-status")).toContainText("A token is live");
  await expect(card.getByRole("button", { name: "Replace token" })).toBeVisible();

  const firstRow = page.getByTestId("scim-mappings").locator("tbody tr").first();
  await firstRow.getByLabel("Role").selectOption("ADMINISTRATOR");
  await firstRow.getByLabel("Group").fill("label-admins");
  await card.getByRole("button", { name: "Save SCIM mappings" }).click();
  await expect(card.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();

  // The identity provider provisions a colleague and puts them in the mapped group.
  const colleague = uniqueEmail("provisioned");
  const user = await scim(token, "POST", "/Users", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName: colleague,
    name: { givenName: "Ada", familyName: "Lovelace" },
    externalId: "00u-e2e-ada",
    active: true,
  });
  await scim(token, "POST", "/Groups", { displayName: "label-admins", members: [{ value: user.id }] });

  await open(page, "/organization");
  const row = page.getByRole("row").filter({ hasText: colleague });
  const pill = row.getByTestId("scim-managed");
  await expect(pill).toHaveText("SCIM");
  await expect(pill).toHaveAttribute("title", /00u-e2e-ada/);
  const select = page.getByRole("combobox", { name: `Role of ${colleague}` });
  await expect(select).toHaveValue("ADMINISTRATOR");

  // Changing their role by hand asks first: the provider may change it back.
  await select.selectOption("MANAGER");
  await expect(page.getByTestId("scim-role-warning")).toContainText("may change this role back");
  await page.getByRole("button", { name: "Change the role" }).click();
  await expect(row.getByRole("status").filter({ hasText: "Saved" })).toBeVisible();
  await expect(select).toHaveValue("MANAGER");

  // Revoked, the token stops working at once.
  await open(page, "/organization/sso");
  await page.getByTestId("scim").getByRole("button", { name: "Revoke token" }).click();
  await expect(page.getByTestId("scim").getByTestId("scim-token-status")).toContainText("No token");
  const refused = await fetch(`${OPEN_URL}/scim/v2/Users`, { headers: { authorization: `Bearer ${token}` } });
  expect(refused.status).toBe(401);
});
