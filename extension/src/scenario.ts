import * as vscode from "vscode";

export const SCENARIO_LANGUAGE = "pomdb-scenario";

/** Version line that every scenario file starts with, after comments: `pomdb: 1`. */
const VERSION_LINE = /^pomdb:\s*\d/;

/** Bytes of a file that the scenario detection reads at most. */
const HEAD_BYTES = 8192;

/** Number of YAML files that the workspace search reads at most. */
const MAX_YAML_FILES = 500;

/**
 * Checks whether YAML text is a pomdb scenario, that is, whether its first line that
 * is not blank, a comment, a directive or a document start is `pomdb: <version>`.
 */
export function isScenarioText(text: string): boolean {
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (
      trimmed === "" ||
      trimmed.startsWith("#") ||
      trimmed.startsWith("%") ||
      trimmed === "---"
    ) {
      continue;
    }
    return VERSION_LINE.test(line);
  }
  return false;
}

/** Checks whether a file is a scenario by reading its first 8 KiB. */
export async function isScenarioFile(file: vscode.Uri): Promise<boolean> {
  try {
    const bytes = await vscode.workspace.fs.readFile(file);
    return isScenarioText(
      Buffer.from(bytes.subarray(0, HEAD_BYTES)).toString("utf8"),
    );
  } catch {
    return false;
  }
}

/** Returns the scenario files of a workspace folder, sorted by path. */
export async function findScenarioFiles(
  folder: vscode.WorkspaceFolder,
  token?: vscode.CancellationToken,
): Promise<vscode.Uri[]> {
  const files = await vscode.workspace.findFiles(
    new vscode.RelativePattern(folder, "**/*.{yaml,yml}"),
    "**/{node_modules,.venv,.git}/**",
    MAX_YAML_FILES,
    token,
  );
  const scenarios: vscode.Uri[] = [];
  for (const file of files.sort((a, b) => a.fsPath.localeCompare(b.fsPath))) {
    if (await isScenarioFile(file)) {
      scenarios.push(file);
    }
  }
  return scenarios;
}

/**
 * Switches YAML documents that are scenarios to the scenario language, so that the
 * editor allows breakpoints in them.
 *
 * VS Code consults a language's `firstLine` pattern only for files that no file
 * extension or name pattern claims, and the built-in YAML language claims `.yaml`.
 * Each document is switched once, so a user can still choose YAML for it by hand.
 */
export function registerScenarioDetection(): vscode.Disposable {
  const switched = new Set<string>();

  const detect = (document: vscode.TextDocument): void => {
    const key = document.uri.toString();
    if (document.languageId !== "yaml" || switched.has(key)) {
      return;
    }
    const head = document.getText(
      new vscode.Range(0, 0, Math.min(document.lineCount, 200), 0),
    );
    if (!isScenarioText(head)) {
      return;
    }
    switched.add(key);
    void vscode.languages.setTextDocumentLanguage(document, SCENARIO_LANGUAGE);
  };

  vscode.workspace.textDocuments.forEach(detect);
  return vscode.workspace.onDidOpenTextDocument(detect);
}
