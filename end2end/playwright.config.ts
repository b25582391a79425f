import { defineConfig } from "@playwright/test";
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "node:fs";

// The release build, started twice on fresh SQLite databases: once as installed by default,
// once with signup without a link disabled.
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), ".cache/gatehouse-target");
const binary = path.join(targetDir, "release", "gatehouse");
const siteRoot = process.env.LEPTOS_SITE_ROOT ?? path.join(__dirname, "..", "target", "site");
// The config is loaded by the runner and again by each worker: the first load makes the data
// folder and passes it on through the environment, so that every process agrees on it.
const dataRoot = (process.env.GATEHOUSE_E2E_DATA ??= fs.mkdtempSync(path.join(os.tmpdir(), "gatehouse-e2e-")));

export const OPEN_URL = "http://127.0.0.1:3110";
export const CLOSED_URL = "http://127.0.0.1:3111";
/** New organizations on this server get a license of 2 seats. */
export const SEATS_URL = "http://127.0.0.1:3112";
/** Where the default server keeps its data; its mail folder is `${OPEN_DATA_DIR}/mail`. */
export const OPEN_DATA_DIR = path.join(dataRoot, "open");

function server(url: string, name: string, env: Record<string, string> = {}) {
  const data = path.join(dataRoot, name);
  return {
    command: binary,
    url: `${url}/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore" as const,
    stderr: "pipe" as const,
    env: {
      LEPTOS_SITE_ADDR: url.replace("http://", ""),
      LEPTOS_SITE_ROOT: siteRoot,
      DATABASE_URL: `sqlite://${data}/gatehouse.db?mode=rwc`,
      LABEL_STUDIO_DATA_DIR: data,
      RUST_LOG: "warn",
      // Every journey signs up from 127.0.0.1: more than the 20 an hour one address may.
      LABEL_STUDIO_SIGNUPS_PER_HOUR: "1000",
      ...env,
    },
  };
}

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: OPEN_URL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    server(OPEN_URL, "open"),
    server(CLOSED_URL, "closed", { LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK: "true" }),
    server(SEATS_URL, "seats", { LABEL_STUDIO_LICENSE_SEATS: "2" }),
  ],
});
