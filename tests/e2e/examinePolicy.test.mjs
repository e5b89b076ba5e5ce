// The user story in a real VS Code: open samples/, start "Examine intrusion-prevention
// policy" with F5, read the episode as threads, frames and scopes, stop on a state and on
// a conditional action breakpoint, and step backwards.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before } from "node:test";

import {
  packageExtension,
  repoRoot,
  startVSCode,
  uiTest,
} from "./codeServer.mjs";
import * as debugViews from "./debugViews.mjs";
import * as editor from "./editor.mjs";

// $POMDB_E2E_SAMPLES opens a copy of samples/ instead of the checkout's folder.
const samples = path.resolve(
  process.env.POMDB_E2E_SAMPLES ?? path.join(repoRoot, "samples"),
);
const scenarioFile = "intrusion_prevention_emulation.yaml";
const launchName = "Examine intrusion-prevention policy";
const scopes = ["Belief", "Observation", "Policy", "Hidden", "Reward"];

// Names of the adapter's variables that the story reads.
const hiddenStateVariable = "state";
const stopProbabilityVariable = "stop";

let session;
let page;
let scenarioText;

/** Returns the 1-based line of the scenario that declares `name` as a list entry. */
function declarationLine(name) {
  const pattern = new RegExp(`^\\s*-\\s*${name}\\b`);
  const index = scenarioText
    .split("\n")
    .findIndex((line) => pattern.test(line));
  assert.notEqual(index, -1, `${scenarioFile} declares no "- ${name}" line`);
  return index + 1;
}

/** Returns the time step t of a stack frame named like "t=3 ...". */
function stepOf(frame) {
  const match = /^t=(\d+)\b/.exec(frame);
  assert.ok(match, `stack frame "${frame}" is not named t=<step>`);
  return Number(match[1]);
}

function unquote(value) {
  return value.replace(/^(["'])(.*)\1$/, "$2");
}

before(
  async () => {
    scenarioText = fs.readFileSync(path.join(samples, scenarioFile), "utf8");
    session = await startVSCode({
      name: "examine-policy",
      workspace: samples,
      vsix: packageExtension(),
    });
    page = session.page;
  },
  { timeout: 180_000 },
);

/** Declares a test on the shared session; a failure leaves a screenshot. */
function workbenchTest(name, timeout, body) {
  uiTest(name, timeout, () => session, body);
}

after(async () => {
  await session?.stop();
});

workbenchTest("Start Debugging stops at t=0 of episode 1", 180_000, async () => {
  await debugViews.selectLaunchConfiguration(page, launchName);
  await debugViews.clickStartDebugging(page);
  await debugViews.waitForStopped(page, 150_000);

  // One session with one thread: VS Code hides the thread row ("episode 1 (seed 1)")
  // and shows the stop's description in the Call Stack view's header.
  const frames = await debugViews.callStackRows(page);
  assert.equal(frames.length, 1, `call stack: ${frames}`);
  assert.equal(stepOf(frames[0]), 0);
  assert.equal(await debugViews.callStackState(page), "t=0");
  assert.equal(
    await editor.topFrameLine(page),
    declarationLine("no_intrusion"),
  );
  await session.screenshot("a-stopped-on-entry");
  assert.deepEqual(await editor.takeErrorNotifications(page), []);
});

workbenchTest("Variables view shows the five scopes", 60_000, async () => {
  assert.deepEqual(await debugViews.scopeNames(page), scopes);
  const belief = await debugViews.scopeVariables(page, "Belief");
  assert.deepEqual(
    belief.map((variable) => [variable.name, Number(variable.value)]),
    [
      ["no_intrusion", 1],
      ["intrusion", 0],
      ["terminal", 0],
    ],
  );
  await debugViews.expandScope(page, "Policy");
  await session.screenshot("b-scopes");
  assert.deepEqual(await editor.takeErrorNotifications(page), []);
});

workbenchTest(
  "breakpoint on state intrusion stops there",
  180_000,
  async () => {
    const line = declarationLine("intrusion");
    await editor.openFile(page, scenarioFile);
    await editor.clickGutter(page, line);
    assert.deepEqual(
      (await editor.breakpointGlyphs(page, [line])).map((glyph) => glyph.line),
      [line],
    );

    const frame = await debugViews.waitForNextStop(page, () =>
      page.keyboard.press("F5"),
    );

    assert.equal(
      await debugViews.callStackState(page),
      `t=${stepOf(frame)}: state intrusion`,
    );
    assert.equal(await editor.topFrameLine(page), line);
    const state = await debugViews.waitForVariable(
      page,
      "Hidden",
      hiddenStateVariable,
      (value) => unquote(value) === "intrusion",
    );
    assert.equal(unquote(state), "intrusion");
    await session.screenshot("c-stopped-on-intrusion");
    assert.deepEqual(await editor.takeErrorNotifications(page), []);
  },
);

workbenchTest("conditional breakpoint on stop stops", 180_000, async () => {
  const intrusionLine = declarationLine("intrusion");
  const stopLine = declarationLine("stop");
  await editor.openFile(page, scenarioFile);
  await editor.clickGutter(page, intrusionLine);
  await editor.addConditionalBreakpoint(page, stopLine, "p > 0.8");
  const glyphs = await editor.breakpointGlyphs(page, [stopLine]);
  assert.deepEqual(
    glyphs.map((glyph) => glyph.line),
    [stopLine],
  );
  assert.match(glyphs[0].classes, /\bcodicon-debug-breakpoint-conditional\b/);

  const frame = await debugViews.waitForNextStop(page, () =>
    page.keyboard.press("F5"),
  );

  assert.equal(
    await debugViews.callStackState(page),
    `t=${stepOf(frame)}: action stop`,
  );
  const stop = await debugViews.waitForVariable(
    page,
    "Policy",
    stopProbabilityVariable,
    (value) => Number(value) > 0.8,
  );
  assert.ok(Number(stop) > 0.8, `P(stop) = ${stop}`);
  const policy = await debugViews.scopeVariables(page, "Policy");
  const action = policy.find((variable) => variable.name === "action");
  assert.equal(unquote(action?.value ?? ""), "stop");
  await session.screenshot("d-stopped-on-stop");
  assert.deepEqual(await editor.takeErrorNotifications(page), []);
});

workbenchTest("Step Back, Step Over, Reverse Continue", 180_000, async () => {
  const start = stepOf(await debugViews.topFrame(page));

  const back = await debugViews.waitForNextStop(page, () =>
    debugViews.clickToolbarButton(page, "Step Back"),
  );
  assert.equal(stepOf(back), start - 1);

  const over = await debugViews.waitForNextStop(page, () =>
    page.keyboard.press("F10"),
  );
  assert.equal(stepOf(over), start);

  const reverse = await debugViews.waitForNextStop(page, () =>
    debugViews.clickToolbarButton(page, "Reverse"),
  );
  assert.ok(stepOf(reverse) < start, `Reverse Continue stopped at ${reverse}`);
  await session.screenshot("d-after-reverse-continue");
  assert.deepEqual(await editor.takeErrorNotifications(page), []);
});

workbenchTest("Shift+F5 ends the session", 60_000, async () => {
  await page.keyboard.press("Shift+F5");
  await page
    .locator(".debug-toolbar")
    .waitFor({ state: "hidden", timeout: 30_000 });
});

workbenchTest("Debug Scenario asks for a policy", 180_000, async () => {
  await editor.openFile(page, scenarioFile);
  await editor.runCommand(page, "pomdb: Debug Scenario");

  const picker = page.locator(".quick-input-widget");
  await picker
    .locator(".quick-input-title", { hasText: "policy for" })
    .waitFor();
  const rows = picker.locator(".quick-input-list .monaco-list-row");
  const labels = (await rows.allInnerTexts()).map((text) =>
    text.replace(/\s+/g, " "),
  );
  assert.match(labels[0], /^policies\/ppo_emulation\.json.*trained for/);
  assert.ok(
    labels.some((label) => label.startsWith("threshold:0.5")),
    `policy choices: ${labels}`,
  );
  await session.screenshot("e-policy-picker");

  await rows.filter({ hasText: "threshold:0.5" }).click();
  await debugViews.waitForStopped(page, 150_000);
  assert.equal(await debugViews.callStackState(page), "t=0");
  await page.keyboard.press("Shift+F5");
  await page
    .locator(".debug-toolbar")
    .waitFor({ state: "hidden", timeout: 30_000 });
});
