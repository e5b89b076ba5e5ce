import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";

import { PythonLocator, PythonNotFoundError } from "./debugAdapter";
import { pickPolicy } from "./policyPicker";
import { findScenarioFiles, SCENARIO_LANGUAGE } from "./scenario";

export const DEBUG_TYPE = "pomdp";

/**
 * Fills in launch configurations of type `pomdp` and checks them before the debug
 * adapter starts, so that a wrong path or value is reported in the editor.
 */
export class PomdpConfigurationProvider
  implements vscode.DebugConfigurationProvider
{
  constructor(private readonly locator: PythonLocator) {}

  resolveDebugConfiguration(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): vscode.ProviderResult<vscode.DebugConfiguration> {
    // F5 without a launch.json: debug the scenario open in the active editor.
    if (!config.type && !config.request && !config.name) {
      const document = vscode.window.activeTextEditor?.document;
      if (document?.languageId === SCENARIO_LANGUAGE) {
        config.type = DEBUG_TYPE;
        config.request = "launch";
        config.name = `Examine ${path.basename(document.uri.fsPath)}`;
        config.scenario = document.uri.fsPath;
      }
    }

    if (!config.scenario) {
      void vscode.window.showErrorMessage(
        'pomdb: the launch configuration is missing "scenario". Set it to a scenario ' +
          "file (first line `pomdb: 1`) or open a scenario file and press F5.",
      );
      return undefined;
    }
    config.episodes ??= 1;
    config.stopOnEntry ??= true;
    return config;
  }

  async resolveDebugConfigurationWithSubstitutedVariables(
    folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): Promise<vscode.DebugConfiguration | null | undefined> {
    try {
      this.locator.locate(folder);
    } catch (error) {
      if (error instanceof PythonNotFoundError) {
        void showPythonError(error.message);
        return undefined;
      }
      throw error;
    }

    const problem = checkConfiguration(config, folder);
    if (problem !== undefined) {
      void vscode.window.showErrorMessage(`pomdb: ${problem}`);
      // null stops the launch and opens launch.json where the value can be fixed.
      return null;
    }

    if (config.policy === undefined) {
      const policy = await pickPolicy(config.scenario, folder);
      if (policy === undefined) {
        return undefined;
      }
      config.policy = policy;
    }
    return config;
  }
}

/**
 * Offers one launch configuration per scenario file of the workspace under the Run and
 * Debug view's "POMDP policy (pomdb)..." entry, so a scenario can be debugged without a
 * launch.json.
 */
export class ScenarioConfigurationProvider
  implements vscode.DebugConfigurationProvider
{
  async provideDebugConfigurations(
    folder: vscode.WorkspaceFolder | undefined,
    token?: vscode.CancellationToken,
  ): Promise<vscode.DebugConfiguration[]> {
    // VS Code also calls this once without a folder. The calls per folder already
    // cover every scenario.
    if (folder === undefined) {
      return [];
    }
    const scenarios = await findScenarioFiles(folder, token);
    const configurations = scenarios.map((file) => ({
      type: DEBUG_TYPE,
      request: "launch",
      name: `Examine ${vscode.workspace.asRelativePath(file, false)}`,
      scenario: file.fsPath,
      stopOnEntry: true,
    }));
    return configurations;
  }
}

/**
 * Makes the paths of a configuration absolute and checks its values. Returns a
 * description of the first problem, or undefined when the configuration is valid.
 */
function checkConfiguration(
  config: vscode.DebugConfiguration,
  folder: vscode.WorkspaceFolder | undefined,
): string | undefined {
  const base = folder?.uri.fsPath ?? path.dirname(String(config.scenario));

  config.scenario = absolutePath(String(config.scenario), base);
  if (!fs.existsSync(config.scenario)) {
    return `scenario file not found: ${config.scenario}. Fix "scenario" in the launch configuration.`;
  }

  if (config.policy !== undefined) {
    if (typeof config.policy !== "string" || config.policy.trim() === "") {
      return '"policy" must be a policy file or a spec such as threshold:0.5, first-alert or random.';
    }
    if (looksLikePath(config.policy)) {
      config.policy = absolutePath(config.policy, base);
      if (!fs.existsSync(config.policy)) {
        return (
          `policy file not found: ${config.policy}. Fix "policy", or use an inline ` +
          "spec such as threshold:0.5, threshold:0.9,0.7,0.5, first-alert or random."
        );
      }
    }
  }

  if (config.trace !== undefined) {
    config.trace = absolutePath(String(config.trace), base);
    if (!fs.existsSync(config.trace)) {
      return `trace file not found: ${config.trace}. Fix "trace" in the launch configuration.`;
    }
  }
  if (config.logFile !== undefined) {
    config.logFile = absolutePath(String(config.logFile), base);
  }

  return (
    checkInteger(config, "episodes", 1) ??
    checkInteger(config, "seed", undefined) ??
    checkInteger(config, "maxSteps", 1) ??
    checkBoolean(config, "stopOnEntry")
  );
}

function checkInteger(
  config: vscode.DebugConfiguration,
  key: string,
  minimum: number | undefined,
): string | undefined {
  const value: unknown = config[key];
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== "number" || !Number.isInteger(value)) {
    return `"${key}" must be an integer, got ${JSON.stringify(value)}.`;
  }
  if (minimum !== undefined && value < minimum) {
    return `"${key}" must be at least ${minimum}, got ${value}.`;
  }
  return undefined;
}

function checkBoolean(
  config: vscode.DebugConfiguration,
  key: string,
): string | undefined {
  const value: unknown = config[key];
  if (value === undefined || typeof value === "boolean") {
    return undefined;
  }
  return `"${key}" must be true or false, got ${JSON.stringify(value)}.`;
}

/** Checks whether a policy value is a file path, not an inline spec such as `random`. */
function looksLikePath(policy: string): boolean {
  return (
    policy.includes("/") ||
    policy.includes("\\") ||
    /\.(json|pt|pth)$/i.test(policy)
  );
}

function absolutePath(file: string, base: string): string {
  return path.isAbsolute(file) ? file : path.resolve(base, file);
}

async function showPythonError(message: string): Promise<void> {
  const openSettings = "Open Settings";
  const choice = await vscode.window.showErrorMessage(message, openSettings);
  if (choice === openSettings) {
    await vscode.commands.executeCommand(
      "workbench.action.openSettings",
      "pomdb.pythonPath",
    );
  }
}
