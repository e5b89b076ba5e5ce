// The extension in a real VS Code, without the debug adapter: scenario language,
// breakpoints in scenario files, launch configurations, and the error shown when no
// Python interpreter is found.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";

import { packageExtension, startVSCode, uiTest } from "./codeServer.mjs";
import * as debugViews from "./debugViews.mjs";
import * as editor from "./editor.mjs";

// A scenario that only this test uses. Its name ends in plain .yaml and a comment comes
// before its version line, so the extension has to read past the comment to tell it
// from other YAML.
const tigerScenario = `# The tiger problem, a classic two-state POMDP.
pomdb: 1
name: Tiger problem (Kaelbling, Littman and Cassandra 1998)
states:
  - tiger_left
  - tiger_right
actions:
  - listen
  - open_left
  - open_right
observations:
  - hear_left
  - hear_right
transition:
  listen: {tiger_left: [1, 0], tiger_right: [0, 1]}
  open_left: {tiger_left: [0.5, 0.5], tiger_right: [0.5, 0.5]}
  open_right: {tiger_left: [0.5, 0.5], tiger_right: [0.5, 0.5]}
observation:
  tiger_left: [0.85, 0.15]
  tiger_right: [0.15, 0.85]
reward:
  listen: [-1, -1]
  open_left: [-100, 10]
  open_right: [10, -100]
initial_belief: [0.5, 0.5]
discount: 0.95
max_steps: 20
`;

let workspace;
let session;
let missingPython;

/** Returns the 1-based line of the scenario that declares `name` in a list. */
function declarationLine(name) {
  const lines = tigerScenario.split("\n");
  return (
    lines.findIndex((line) => new RegExp(`^\\s*-\\s*${name}\\b`).test(line)) + 1
  );
}

before(
  async () => {
    workspace = fs.mkdtempSync(
      path.join(os.tmpdir(), "pomdb-smoke-workspace-"),
    );
    fs.writeFileSync(path.join(workspace, "tiger.yaml"), tigerScenario);
    missingPython = path.join(workspace, "missing", "python");
    session = await startVSCode({
      name: "smoke",
      workspace,
      vsix: packageExtension(),
      settings: { "pomdb.pythonPath": missingPython },
    });
  },
  { timeout: 180_000 },
);

/** Declares a test on the shared session; a failure leaves a screenshot. */
function workbenchTest(name, timeout, body) {
  uiTest(name, timeout, () => session, body);
}

after(async () => {
  await session?.stop();
  if (workspace !== undefined)
    fs.rmSync(workspace, { recursive: true, force: true });
});

workbenchTest("scenario opens in pomdb language", 60_000, async () => {
  await editor.openFile(session.page, "tiger.yaml");

  await session.page
    .locator("#status\\.editor\\.mode", { hasText: "POMDB Scenario" })
    .waitFor({ timeout: 20_000 });
  assert.equal(await editor.languageMode(session.page), "POMDB Scenario");
  await session.screenshot("scenario-language");
});

workbenchTest("gutter sets breakpoints in scenario", 60_000, async () => {
  const stateLine = declarationLine("tiger_right");
  const actionLine = declarationLine("open_left");

  await editor.clickGutter(session.page, stateLine);
  await editor.addConditionalBreakpoint(session.page, actionLine, "p > 0.8");

  const glyphs = await editor.breakpointGlyphs(session.page, [
    stateLine,
    actionLine,
  ]);
  assert.deepEqual(
    glyphs.map((glyph) => glyph.line),
    [stateLine, actionLine],
  );
  assert.match(glyphs[0].classes, /\bcodicon-debug-breakpoint\b/);
  assert.match(glyphs[1].classes, /\bcodicon-debug-breakpoint-conditional\b/);
  await session.screenshot("breakpoints");
});

workbenchTest("F5 without Python names the setting", 60_000, async () => {
  await editor.openFile(session.page, "tiger.yaml");
  await session.page.keyboard.press("F5");

  const toast = session.page.locator(
    ".notifications-toasts .notification-toast",
    {
      hasText: "pomdb.pythonPath",
    },
  );
  await toast.waitFor({ timeout: 30_000 });
  const message = await toast.innerText();
  assert.match(
    message,
    new RegExp(`${missingPython.replaceAll("/", "\\/")} does not exist`),
  );
  assert.match(message, /Open Settings/);
  await session.screenshot("python-missing");
  await session.page.keyboard.press("Escape");
});

workbenchTest(
  "launch.json starts with a pomdp configuration",
  60_000,
  async () => {
    await editor.openFile(session.page, "tiger.yaml");
    await debugViews.openRunAndDebug(session.page);
    await session.page
      .locator(".part.sidebar a", { hasText: "create a launch.json file" })
      .click();
    await session.page
      .locator(".tabs-container .tab.active", { hasText: "launch.json" })
      .waitFor({ timeout: 20_000 });

    const text = fs.readFileSync(
      path.join(workspace, ".vscode/launch.json"),
      "utf8",
    );
    const launch = JSON.parse(text.replace(/^\s*\/\/.*$/gm, ""));
    assert.equal(launch.configurations.length, 1);
    assert.equal(launch.configurations[0].type, "pomdp");
    assert.equal(launch.configurations[0].request, "launch");
    assert.equal(launch.configurations[0].scenario, "${file}");
    await session.screenshot("launch-json");
  },
);

workbenchTest("drop-down lists the workspace's scenarios", 60_000, async () => {
  const options = await debugViews.launchConfigurationOptions(session.page);
  assert.ok(
    options.includes("POMDP policy (pomdb)..."),
    `drop-down entries: ${options}`,
  );

  await debugViews.pickLaunchDropdownEntry(
    session.page,
    "POMDP policy (pomdb)...",
  );
  const rows = session.page.locator(
    ".quick-input-widget .quick-input-list .monaco-list-row",
  );
  await rows.first().waitFor();
  const labels = await rows.allInnerTexts();
  assert.equal(labels.length, 1);
  assert.match(labels[0], /^Examine tiger\.yaml/);
  await session.screenshot("scenario-configurations");
  await session.page.keyboard.press("Escape");
});

workbenchTest("Add Configuration offers pomdb snippets", 60_000, async () => {
  await debugViews.pickLaunchDropdownEntry(
    session.page,
    "Add Configuration...",
  );
  const suggestions = session.page.locator(".suggest-widget .monaco-list-row");
  await suggestions.first().waitFor();
  await session.page.keyboard.type("Examine a");

  await suggestions
    .filter({ hasText: "pomdb: Examine a policy" })
    .waitFor({ timeout: 10_000 });
  await session.screenshot("configuration-snippets");
  await session.page.keyboard.press("Escape");
});
