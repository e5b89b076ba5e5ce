// The Run and Debug view of the VS Code workbench in a playwright-core page: launch
// configurations, the debug toolbar, the Call Stack and Variables views. Selectors
// match VS Code 1.100 (code-server 4.100.3).
import { waitUntil } from "./wait.mjs";

const launchSelect = ".start-debug-action-item select.monaco-select-box";
const launchDropdownRow =
  ".monaco-select-box-dropdown-container .monaco-list-row";

/** Opens the Run and Debug view (Ctrl+Shift+D) unless it is shown. */
export async function openRunAndDebug(page) {
  const view = page.locator('.part.sidebar [id="workbench.view.debug"]');
  if (!(await view.isVisible())) {
    await page.keyboard.press("Control+Shift+D");
  }
  await view.waitFor();
}

/** Returns the entries of the launch configuration drop-down in the Run and Debug view. */
export async function launchConfigurationOptions(page) {
  await openRunAndDebug(page);
  const select = page.locator(launchSelect);
  await select.waitFor();
  return select.evaluate((element) =>
    [...element.options].map((option) => option.text),
  );
}

/** Picks an entry of the launch configuration drop-down, e.g. a configuration's name. */
export async function pickLaunchDropdownEntry(page, text) {
  await openRunAndDebug(page);
  const select = page.locator(launchSelect);
  await select.click();
  await page.locator(launchDropdownRow, { hasText: text }).first().click();
}

/** Selects a launch configuration by name in the Run and Debug view. */
export async function selectLaunchConfiguration(page, name) {
  await waitUntil(
    async () => (await launchConfigurationOptions(page)).includes(name),
    `launch configuration "${name}" in the drop-down`,
    30_000,
  );
  const select = page.locator(launchSelect);
  if ((await select.inputValue()) === name) return;
  await pickLaunchDropdownEntry(page, name);
  await waitUntil(
    async () => (await select.inputValue()) === name,
    `launch configuration "${name}" to be selected`,
  );
}

/**
 * Clicks the green Start Debugging button beside the launch configuration drop-down.
 * It runs the command that F5 runs. A press of F5 right after a pick from the
 * drop-down started nothing in about one run in four here, so tests start with the
 * button.
 */
export async function clickStartDebugging(page) {
  await page
    .getByRole("button", { name: /^Start Debugging/ })
    .first()
    .click();
}

/** Waits until the floating debug toolbar shows Continue, that is, a thread is stopped. */
export async function waitForStopped(page, timeout = 60_000) {
  await page.locator(".debug-toolbar").waitFor({ timeout });
  await page
    .locator(".debug-toolbar .action-label.codicon-debug-continue")
    .waitFor({ timeout });
}

/** Clicks a debug toolbar button by the start of its tooltip, e.g. "Step Back". */
export async function clickToolbarButton(page, label) {
  await page
    .locator(`.debug-toolbar .action-label[aria-label^="${label}"]`)
    .click();
}

/** Returns the texts of the rows in the Call Stack view: threads and stack frames. */
export async function callStackRows(page) {
  const rows = page.locator(".debug-call-stack .monaco-list-row");
  await rows.first().waitFor();
  return (await rows.allInnerTexts()).map((text) =>
    text.replace(/\s+/g, " ").trim(),
  );
}

/**
 * Returns the text in the Call Stack view's header: the description of the last stop,
 * or "Paused on <reason>" without one. VS Code shows it there when one session has one
 * thread, and then hides the thread row.
 */
export async function callStackState(page) {
  const label = page.locator(".pane-header .call-stack-state-message .label");
  await label.waitFor();
  return (await label.innerText()).trim();
}

/** Returns the text of the top stack frame in the Call Stack view. */
export async function topFrame(page) {
  const frame = page
    .locator(".debug-call-stack .monaco-list-row .stack-frame")
    .first();
  await frame.waitFor();
  return (await frame.innerText()).replace(/\s+/g, " ").trim();
}

/**
 * Runs `action` (a key press or a toolbar click) on a stopped session and waits until
 * the session is stopped again with a different top stack frame.
 */
export async function waitForNextStop(page, action, timeout = 60_000) {
  const before = await topFrame(page);
  await action();
  const deadline = Date.now() + timeout;
  for (;;) {
    const stopped = await page
      .locator(".debug-toolbar .action-label.codicon-debug-continue")
      .isVisible();
    const frame = await topFrame(page).catch(() => before);
    if (stopped && frame !== before) return frame;
    if (Date.now() > deadline) {
      throw new Error(
        `no new stop within ${timeout} ms; top frame is still "${before}"`,
      );
    }
    await page.waitForTimeout(200);
  }
}

/**
 * Returns the variables of one scope of the Variables view as {name, value}, expanding
 * the scope first and waiting until its children are shown.
 */
export async function scopeVariables(page, scope) {
  await expandScope(page, scope);
  const rows = page.locator(".debug-variables .monaco-list-row");
  let variables = [];
  await waitUntil(async () => {
    const all = await rows.evaluateAll((elements) =>
      elements.map((row) => ({
        scope: row.querySelector(".scope")?.textContent?.trim(),
        name:
          row
            .querySelector(".name")
            ?.textContent?.replace(/\s*[:=]$/, "")
            .trim() ?? "",
        value: row.querySelector(".value")?.textContent?.trim() ?? "",
      })),
    );
    const start = all.findIndex((row) => row.scope === scope);
    const end = all.findIndex(
      (row, index) => index > start && row.scope !== undefined,
    );
    variables = all
      .slice(start + 1, end === -1 ? undefined : end)
      .map(({ name, value }) => ({ name, value }));
    return variables.length > 0;
  }, `the variables of scope ${scope}`);
  return variables;
}

/**
 * Waits until variable `name` of `scope` has a value that satisfies `predicate`, and
 * returns that value. The Variables view fills in a new stop's values some time after
 * the Call Stack view shows the stop. Throws with the last value seen.
 */
export async function waitForVariable(
  page,
  scope,
  name,
  predicate,
  timeout = 10_000,
) {
  let value;
  try {
    await waitUntil(
      async () => {
        const variable = (await scopeVariables(page, scope)).find(
          (row) => row.name === name,
        );
        value = variable?.value;
        return value !== undefined && predicate(value);
      },
      `variable ${name} of scope ${scope}`,
      timeout,
    );
  } catch (error) {
    throw new Error(`${error.message}; last value: ${value ?? "none"}`);
  }
  return value;
}

/** Returns the names of the scopes in the Variables view, top to bottom. */
export async function scopeNames(page) {
  const scopes = page.locator(".debug-variables .monaco-list-row .scope");
  await scopes.first().waitFor();
  return (await scopes.allInnerTexts()).map((text) => text.trim());
}

/** Expands a scope row of the Variables view by its name, e.g. "Hidden". */
export async function expandScope(page, name) {
  const row = page.locator(".debug-variables .monaco-list-row", {
    has: page.locator(".scope", { hasText: new RegExp(`^${name}$`) }),
  });
  await row.waitFor();
  if ((await row.getAttribute("aria-expanded")) !== "true") {
    await row.click();
  }
  await page
    .locator(".debug-variables .monaco-list-row[aria-expanded='true']", {
      has: page.locator(".scope", { hasText: new RegExp(`^${name}$`) }),
    })
    .waitFor();
}
