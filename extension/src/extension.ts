import * as path from "node:path";
import * as vscode from "vscode";

import {
  DEBUG_TYPE,
  PomdpConfigurationProvider,
  ScenarioConfigurationProvider,
} from "./configuration";
import { PomdpAdapterFactory, PythonLocator } from "./debugAdapter";
import { registerScenarioDetection } from "./scenario";

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel("pomdb", { log: true });
  const locator = new PythonLocator(context.extensionPath);

  context.subscriptions.push(
    log,
    vscode.debug.registerDebugConfigurationProvider(
      DEBUG_TYPE,
      new PomdpConfigurationProvider(locator),
    ),
    vscode.debug.registerDebugConfigurationProvider(
      DEBUG_TYPE,
      new ScenarioConfigurationProvider(),
      vscode.DebugConfigurationProviderTriggerKind.Dynamic,
    ),
    vscode.debug.registerDebugAdapterDescriptorFactory(
      DEBUG_TYPE,
      new PomdpAdapterFactory(locator, log),
    ),
    registerScenarioDetection(),
    vscode.commands.registerCommand("pomdb.debugScenario", debugScenario),
  );
  log.info(`pomdb extension activated from ${context.extensionPath}`);
}

export function deactivate(): void {}

/** Starts a debug session on a scenario file; the policy is picked before launch. */
async function debugScenario(resource?: vscode.Uri): Promise<void> {
  const uri = resource ?? vscode.window.activeTextEditor?.document.uri;
  if (uri === undefined) {
    void vscode.window.showErrorMessage(
      "pomdb: open a scenario file to debug it.",
    );
    return;
  }
  await vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(uri), {
    type: DEBUG_TYPE,
    request: "launch",
    name: `Examine ${path.basename(uri.fsPath)}`,
    scenario: uri.fsPath,
    stopOnEntry: true,
  });
}
