import * as path from "node:path";
import * as vscode from "vscode";

/** Value of `format` in a pomdb policy metadata file. */
const POLICY_FORMAT = "pomdb-policy";

/** Number of JSON files that the policy search reads at most. */
const MAX_JSON_FILES = 500;

interface PolicyItem extends vscode.QuickPickItem {
  spec: string;
}

// Inline specs that the adapter's policy loader accepts besides a policy file.
const INLINE_POLICIES: PolicyItem[] = [
  {
    label: "threshold:0.5",
    spec: "threshold:0.5",
    description: "stop when b(intrusion) >= 0.5",
  },
  {
    label: "first-alert",
    spec: "first-alert",
    description: "stop whenever the latest observation shows an alert (o > 0)",
  },
  {
    label: "random",
    spec: "random",
    description:
      "every action with equal probability (random:P stops with probability P)",
  },
];

/**
 * Asks for the policy of a launch that names none: a policy file of the workspace or
 * an inline spec. Files trained for `scenario` come first. Returns the spec, or
 * undefined when the user cancels.
 */
export async function pickPolicy(
  scenario: string,
  folder: vscode.WorkspaceFolder | undefined,
): Promise<string | undefined> {
  const files = folder === undefined ? [] : await findPolicyFiles(folder);
  const forScenario = files.filter((file) => file.scenario === scenario);
  const others = files.filter((file) => file.scenario !== scenario);

  const items: (PolicyItem | vscode.QuickPickItem)[] = [];
  const addFiles = (label: string, group: PolicyFile[]): void => {
    if (group.length === 0) {
      return;
    }
    items.push({ label, kind: vscode.QuickPickItemKind.Separator });
    for (const file of group) {
      items.push({
        label: vscode.workspace.asRelativePath(file.path, false),
        spec: file.path,
        description: file.kind,
      });
    }
  };
  addFiles(`trained for ${path.basename(scenario)}`, forScenario);
  addFiles("other policy files", others);
  items.push({ label: "inline", kind: vscode.QuickPickItemKind.Separator });
  items.push(...INLINE_POLICIES);

  const choice = await vscode.window.showQuickPick(items, {
    title: `pomdb: policy for ${path.basename(scenario)}`,
    placeHolder: 'Pick a policy; set "policy" in launch.json to skip this step',
  });
  return choice !== undefined && "spec" in choice ? choice.spec : undefined;
}

interface PolicyFile {
  path: string;
  kind: string;
  /** Absolute path of the scenario that the policy names, if any. */
  scenario: string | undefined;
}

async function findPolicyFiles(
  folder: vscode.WorkspaceFolder,
): Promise<PolicyFile[]> {
  const files = await vscode.workspace.findFiles(
    new vscode.RelativePattern(folder, "**/*.json"),
    "**/{node_modules,.venv,.git,.vscode}/**",
    MAX_JSON_FILES,
  );
  const policies: PolicyFile[] = [];
  for (const file of files.sort((a, b) => a.fsPath.localeCompare(b.fsPath))) {
    const metadata = await readJson(file);
    if (metadata?.format !== POLICY_FORMAT) {
      continue;
    }
    const scenario =
      typeof metadata.scenario === "string"
        ? path.resolve(path.dirname(file.fsPath), metadata.scenario)
        : undefined;
    policies.push({
      path: file.fsPath,
      kind: typeof metadata.kind === "string" ? metadata.kind : "policy",
      scenario,
    });
  }
  return policies;
}

async function readJson(
  file: vscode.Uri,
): Promise<Record<string, unknown> | undefined> {
  try {
    const bytes = await vscode.workspace.fs.readFile(file);
    const value: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
    return typeof value === "object" && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
