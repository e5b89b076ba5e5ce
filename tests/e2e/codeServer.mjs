// Starts a real VS Code (code-server) with the pomdb extension installed, and a headless
// Debian chromium driven by playwright-core that shows its workbench.
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { test } from "node:test";

import { chromium } from "playwright-core";

import {
  freePort,
  killIfRunning,
  waitForDevToolsPort,
  waitForHealth,
} from "./processes.mjs";
import { withTimeout } from "./wait.mjs";

export const repoRoot = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../..",
);

const codeServerBin =
  process.env.POMDB_CODE_SERVER ??
  path.join(repoRoot, ".tools/vscode-test/node_modules/.bin/code-server");
const chromiumBin = process.env.POMDB_CHROMIUM ?? "/usr/bin/chromium";
const outputDir = path.resolve(
  process.env.POMDB_SCREENSHOTS ?? path.join(repoRoot, "out/screenshots"),
);

// Flags that let Debian's chromium run headless as root without reaching the network.
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// User settings that stop code-server's own requests to an extension gallery and hide
// the welcome page and the chat panel.
const quietSettings = {
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "extensions.ignoreRecommendations": true,
  "workbench.enableExperiments": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "workbench.startupEditor": "none",
  "chat.disableAIFeatures": true,
  // A test types into editors; nothing may write those keystrokes to the checkout.
  "files.autoSave": "off",
  "debug.saveBeforeStart": "none",
  "git.enabled": false,
  "editor.minimap.enabled": false,
};

/**
 * Packages the extension with `npm run package` in extension/ and returns the .vsix
 * path, or returns $POMDB_VSIX when it is set.
 */
export function packageExtension() {
  if (process.env.POMDB_VSIX) {
    return path.resolve(process.env.POMDB_VSIX);
  }
  const extensionDir = path.join(repoRoot, "extension");
  if (!fs.existsSync(path.join(extensionDir, "node_modules/.bin/vsce"))) {
    throw new Error(
      `${extensionDir}/node_modules is missing; run scripts/install-vscode-test.sh ` +
        "or `npm ci --ignore-scripts` in extension/",
    );
  }
  const result = spawnSync("npm", ["run", "package"], {
    cwd: extensionDir,
    encoding: "utf8",
  });
  if (result.status !== 0) {
    throw new Error(
      `npm run package failed in ${extensionDir}:\n${result.stdout}${result.stderr}`,
    );
  }
  const manifest = JSON.parse(
    fs.readFileSync(path.join(extensionDir, "package.json"), "utf8"),
  );
  return path.join(extensionDir, `${manifest.name}-${manifest.version}.vsix`);
}

/**
 * Declares a test whose failure leaves a screenshot named after it; `getSession` returns
 * the session that a `before` hook started.
 */
export function uiTest(name, timeout, getSession, body) {
  test(name, { timeout }, async () => {
    try {
      await body();
    } catch (error) {
      const label = `failed-${name.replace(/[^A-Za-z0-9]+/g, "-").toLowerCase()}`;
      await getSession()
        ?.screenshot(label)
        .catch(() => undefined);
      throw error;
    }
  });
}

/**
 * Starts code-server on a free 127.0.0.1 port with the extension installed into a new
 * extensions folder, opens `workspace` in chromium and waits for the workbench.
 * Returns a session; call `session.stop()` in a finally block or an `after` hook.
 */
export async function startVSCode({ name, workspace, vsix, settings = {} }) {
  if (!fs.existsSync(codeServerBin)) {
    throw new Error(
      `code-server not found at ${codeServerBin}; run scripts/install-vscode-test.sh`,
    );
  }
  removeOutputs(name);
  const session = new VSCodeSession(
    name,
    fs.mkdtempSync(path.join(os.tmpdir(), "pomdb-e2e-")),
  );
  try {
    await session.start(path.resolve(workspace), vsix, settings);
  } catch (error) {
    await session.screenshot("startup-failure").catch(() => {});
    await session.stop();
    throw error;
  }
  return session;
}

class VSCodeSession {
  constructor(name, tempDir) {
    this.name = name;
    this.tempDir = tempDir;
    this.userDataDir = path.join(tempDir, "user-data");
    this.extensionsDir = path.join(tempDir, "extensions");
    this.configFile = path.join(tempDir, "code-server.yaml");
    this.logFile = path.join(tempDir, "code-server.log");
    this.server = undefined;
    this.chromium = undefined;
    this.browser = undefined;
    this.page = undefined;
    this.stopped = false;
    this.killOnExit = () => this.killProcesses("SIGKILL");
  }

  async start(workspace, vsix, settings) {
    process.on("exit", this.killOnExit);
    const port = await freePort();
    fs.writeFileSync(
      this.configFile,
      `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`,
    );
    this.writeSettings(settings);
    this.installExtension(vsix);

    this.server = spawn(
      codeServerBin,
      [
        ...this.commonArgs(),
        "--auth",
        "none",
        "--bind-addr",
        `127.0.0.1:${port}`,
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        "--disable-getting-started-override",
        workspace,
      ],
      // A process group of its own, so that stop() also ends the extension host and
      // the debug adapter that code-server starts.
      {
        env: this.serverEnv(),
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const log = fs.createWriteStream(this.logFile);
    this.server.stdout.pipe(log);
    this.server.stderr.pipe(log);
    this.baseUrl = `http://127.0.0.1:${port}`;
    await waitForHealth(this.baseUrl, this.server, this.logFile);

    this.browser = await this.startChromium();
    const context = await this.browser.newContext({
      viewport: { width: 1600, height: 1000 },
    });
    this.page = await context.newPage();
    const url = `${this.baseUrl}/?folder=${encodeURIComponent(workspace)}`;
    await this.page.goto(url);
    await this.page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
    await this.page
      .locator(".explorer-folders-view")
      .waitFor({ timeout: 60_000 });
  }

  /**
   * Starts chromium in a process group of its own with a new profile and a DevTools
   * port on 127.0.0.1 chosen by chromium, and connects playwright-core to it.
   */
  async startChromium() {
    const profileDir = path.join(this.tempDir, "chromium-profile");
    fs.mkdirSync(profileDir);
    this.chromium = spawn(
      chromiumBin,
      [
        ...chromiumArgs,
        `--user-data-dir=${profileDir}`,
        "--remote-debugging-port=0",
        "about:blank",
      ],
      { detached: true, stdio: ["ignore", "ignore", "pipe"] },
    );
    this.chromium.stderr.pipe(
      fs.createWriteStream(path.join(this.tempDir, "chromium.log")),
    );
    const port = await waitForDevToolsPort(profileDir, this.chromium);
    return chromium.connectOverCDP(`http://127.0.0.1:${port}`);
  }

  commonArgs() {
    return [
      "--config",
      this.configFile,
      "--user-data-dir",
      this.userDataDir,
      "--extensions-dir",
      this.extensionsDir,
    ];
  }

  serverEnv() {
    const env = { ...process.env };
    // Variables of an enclosing VS Code terminal would route CLI calls to that editor.
    for (const key of Object.keys(env)) {
      if (key.startsWith("VSCODE_")) delete env[key];
    }
    env.XDG_CONFIG_HOME = path.join(this.tempDir, "xdg-config");
    env.XDG_DATA_HOME = path.join(this.tempDir, "xdg-data");
    env.XDG_CACHE_HOME = path.join(this.tempDir, "xdg-cache");
    return env;
  }

  /**
   * Writes the settings: the `pomdb.*` ones, which have machine-overridable scope, into
   * the machine settings (a remote window such as code-server's ignores machine-scoped
   * settings in the browser's user settings), and all others into the user settings.
   */
  writeSettings(settings) {
    const python =
      process.env.POMDB_PYTHON ?? path.join(repoRoot, ".venv/bin/python");
    const all = { ...quietSettings, "pomdb.pythonPath": python, ...settings };
    const user = {};
    const machine = {};
    for (const [key, value] of Object.entries(all)) {
      (key.startsWith("pomdb.") ? machine : user)[key] = value;
    }
    writeJson(path.join(this.userDataDir, "User/settings.json"), user);
    writeJson(path.join(this.userDataDir, "Machine/settings.json"), machine);
  }

  installExtension(vsix) {
    const result = spawnSync(
      codeServerBin,
      [...this.commonArgs(), "--install-extension", vsix],
      { env: this.serverEnv(), encoding: "utf8", timeout: 120_000 },
    );
    if (result.status !== 0) {
      throw new Error(
        `code-server --install-extension ${vsix} failed:\n${result.stdout}${result.stderr}`,
      );
    }
    const installed = fs
      .readdirSync(this.extensionsDir)
      .filter((entry) => entry.startsWith("pomdb.pomdb-"));
    if (installed.length !== 1) {
      throw new Error(
        `expected pomdb.pomdb-<version> in ${this.extensionsDir}, found ${installed}`,
      );
    }
  }

  /** Saves a PNG of the browser viewport as <output>/<session>-<label>.png; returns its path. */
  async screenshot(label) {
    if (this.page === undefined) return undefined;
    fs.mkdirSync(outputDir, { recursive: true });
    const file = path.join(outputDir, `${this.name}-${label}.png`);
    // Let the workbench finish rendering after the last input, e.g. a closing widget.
    await this.page.evaluate(
      () =>
        new Promise((resolve) =>
          requestAnimationFrame(() => requestAnimationFrame(resolve)),
        ),
    );
    await this.page.waitForTimeout(300);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Closes chromium and ends code-server's process group; safe to call twice. */
  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    if (this.browser !== undefined) {
      await withTimeout(this.browser.close(), 10_000).catch(() => {});
    }
    this.killProcesses("SIGTERM");
    for (const child of [this.chromium, this.server]) {
      if (
        child !== undefined &&
        child.exitCode === null &&
        child.signalCode === null
      ) {
        const exited = await withTimeout(once(child, "exit"), 10_000).catch(
          () => false,
        );
        if (exited === false) this.killProcesses("SIGKILL");
      }
    }
    process.off("exit", this.killOnExit);
    this.keepLog();
    if (!process.env.POMDB_E2E_KEEP) {
      fs.rmSync(this.tempDir, { recursive: true, force: true });
    }
  }

  killProcesses(signal) {
    for (const child of [this.chromium, this.server]) {
      if (
        child?.pid !== undefined &&
        child.exitCode === null &&
        child.signalCode === null
      ) {
        killIfRunning(-child.pid, signal);
      }
    }
  }

  keepLog() {
    if (!fs.existsSync(this.logFile)) return;
    fs.mkdirSync(outputDir, { recursive: true });
    fs.copyFileSync(
      this.logFile,
      path.join(outputDir, `${this.name}-code-server.log`),
    );
  }
}

/** Removes the screenshots and logs that an earlier run of session `name` left. */
function removeOutputs(name) {
  if (!fs.existsSync(outputDir)) return;
  for (const entry of fs.readdirSync(outputDir)) {
    if (entry.startsWith(`${name}-`)) fs.rmSync(path.join(outputDir, entry));
  }
}

function writeJson(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}
