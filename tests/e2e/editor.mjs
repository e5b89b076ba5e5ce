// Editor actions in the VS Code workbench of a playwright-core page: quick open, the
// command palette, the breakpoint gutter, notifications. Selectors match VS Code 1.100
// (code-server 4.100.3).
import { waitUntil } from "./wait.mjs";

const quickInput = ".quick-input-widget";
const quickInputRow = `${quickInput} .quick-input-list .monaco-list-row`;

/** Opens a workspace file with Quick Open (Ctrl+P) and waits until its editor is active. */
export async function openFile(page, fileName) {
  await page.keyboard.press("Control+P");
  const input = page.locator(`${quickInput} input`);
  await input.waitFor();
  await input.fill(fileName);
  await page.locator(quickInputRow, { hasText: fileName }).first().click();
  await page
    .locator(".tabs-container .tab.active", { hasText: fileName })
    .waitFor({ timeout: 20_000 });
  await page
    .locator(".editor-instance .monaco-editor .view-lines")
    .first()
    .waitFor();
}

/**
 * Runs a command by its label from the command palette. The palette input must show
 * `>` before the label is filled in, or the text lands in another picker.
 */
export async function runCommand(page, label) {
  await page.keyboard.press("Control+Shift+P");
  const input = page.locator(`${quickInput} input`);
  await input.waitFor();
  await waitUntil(
    async () => (await input.inputValue()).startsWith(">"),
    "the command palette to show >",
  );
  await input.fill(`>${label}`);
  await page.locator(quickInputRow, { hasText: label }).first().click();
}

/** Returns the label of the active editor's language in the status bar, e.g. "YAML". */
export async function languageMode(page) {
  return (await page.locator("#status\\.editor\\.mode").innerText()).trim();
}

/** Moves the cursor of the active editor to a 1-based line with Go to Line (Ctrl+G). */
export async function goToLine(page, line) {
  await page.keyboard.press("Control+G");
  const input = page.locator(`${quickInput} input`);
  await input.waitFor();
  await input.fill(`:${line}`);
  await page.keyboard.press("Enter");
  await input.waitFor({ state: "hidden" });
}

/** Returns the centre of the glyph margin (the breakpoint gutter) on a 1-based line. */
async function gutterPoint(page, line) {
  await goToLine(page, line);
  const editor = page.locator(".editor-instance .monaco-editor").first();
  const lineNumber = editor.locator(".margin-view-overlays .line-numbers", {
    hasText: new RegExp(`^\\s*${line}\\s*$`),
  });
  const lineBox = await lineNumber.boundingBox();
  const glyphBox = await editor
    .locator(".margin .glyph-margin")
    .first()
    .boundingBox();
  if (lineBox === null || glyphBox === null) {
    throw new Error(
      `line ${line} or the glyph margin is not visible in the editor`,
    );
  }
  return {
    x: glyphBox.x + glyphBox.width / 2,
    y: lineBox.y + lineBox.height / 2,
  };
}

/** Clicks the breakpoint gutter of a 1-based line, which toggles a breakpoint there. */
export async function clickGutter(page, line) {
  const { x, y } = await gutterPoint(page, line);
  await page.mouse.click(x, y);
}

/**
 * Adds a conditional breakpoint with the gutter's context menu: right-click, "Add
 * Conditional Breakpoint...", type the condition, Enter.
 */
export async function addConditionalBreakpoint(page, line, condition) {
  const { x, y } = await gutterPoint(page, line);
  await page.mouse.click(x, y, { button: "right" });
  const item = page.locator(".monaco-menu .action-item", {
    hasText: "Add Conditional Breakpoint",
  });
  await item.waitFor();
  // A context menu ignores a click that comes right after it opened.
  await page.waitForTimeout(300);
  await item.click();
  const widget = page.locator(".zone-widget .breakpoint-widget");
  await widget.locator(".monaco-editor.focused").waitFor();
  // The widget's input has the keyboard focus and starts in "Expression" mode.
  await page.keyboard.type(condition);
  const text = widget.locator(".view-lines");
  await waitUntil(
    async () =>
      (await text.innerText()).replace(/\u00a0/g, " ").trim() === condition,
    `the breakpoint widget to hold "${condition}"`,
    5_000,
  );
  await page.keyboard.press("Enter");
  await widget.waitFor({ state: "hidden" });
}

/**
 * Returns the glyphs of the active editor's glyph margin whose codicon class starts
 * with `prefix`, as {line, classes}, matched to the line numbers by vertical position.
 */
async function glyphs(page, prefix) {
  const editor = page.locator(".editor-instance .monaco-editor").first();
  return editor.evaluate((root, prefix) => {
    const lines = [
      ...root.querySelectorAll(".margin-view-overlays .line-numbers"),
    ].map((element) => ({
      line: Number(element.textContent.trim()),
      top: element.getBoundingClientRect().top,
    }));
    const matching = [
      ...root.querySelectorAll(".glyph-margin-widgets .codicon"),
    ].filter((element) =>
      [...element.classList].some((name) => name.startsWith(prefix)),
    );
    return matching.map((element) => {
      const top = element.getBoundingClientRect().top;
      const nearest = lines.reduce((best, candidate) =>
        Math.abs(candidate.top - top) < Math.abs(best.top - top)
          ? candidate
          : best,
      );
      return { line: nearest.line, classes: element.className };
    });
  }, prefix);
}

/**
 * Returns the breakpoint glyphs of the active editor as {line, classes}. VS Code draws
 * or removes a glyph a moment after the click that toggles it. So with
 * `expectedLines` this polls for up to 5 s until the glyphs are on those lines. It
 * then returns what it found either way, for the caller to assert on.
 */
export async function breakpointGlyphs(page, expectedLines = undefined) {
  let found = await glyphs(page, "codicon-debug-breakpoint");
  if (expectedLines === undefined) {
    return found;
  }
  const wanted = JSON.stringify(expectedLines);
  await waitUntil(
    async () => {
      found = await glyphs(page, "codicon-debug-breakpoint");
      return JSON.stringify(found.map((glyph) => glyph.line)) === wanted;
    },
    `breakpoint glyphs on lines ${wanted}`,
    5_000,
  ).catch(() => {});
  return found;
}

/**
 * Returns the line that the editor marks as the top stack frame's location, or
 * undefined when the active editor shows none.
 */
export async function topFrameLine(page) {
  const marks = await glyphs(page, "codicon-debug-stackframe");
  return marks[0]?.line;
}

/**
 * Returns the texts of the error notifications on screen and closes them, so that the
 * next call reports only new ones.
 */
export async function takeErrorNotifications(page) {
  const toasts = page.locator(".notifications-toasts .notification-toast", {
    has: page.locator(".codicon-error"),
  });
  const texts = (await toasts.allInnerTexts()).map((text) =>
    text.replace(/\s+/g, " ").trim(),
  );
  for (const close of await toasts
    .locator(".codicon-notifications-clear")
    .all()) {
    await close.click().catch(() => undefined);
  }
  return texts;
}
