import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";

/** Python interpreter and working folder that run `python -m adapter`. */
export interface AdapterRuntime {
  python: string;
  cwd: string | undefined;
}

/** Raised when no Python interpreter for the debug adapter can be found. */
export class PythonNotFoundError extends Error {}

const VENV_PYTHON =
  process.platform === "win32"
    ? path.join(".venv", "Scripts", "python.exe")
    : path.join(".venv", "bin", "python");

/**
 * Finds the Python interpreter of a pomdb checkout.
 *
 * Order: the setting `pomdb.pythonPath`, then `.venv` in the checkout that contains
 * this extension (the extension folder's parent, when the extension is loaded from
 * the checkout), in the workspace folder, and in the workspace folder's parent.
 */
export class PythonLocator {
  constructor(private readonly extensionPath: string) {}

  locate(folder: vscode.WorkspaceFolder | undefined): AdapterRuntime {
    const candidates = this.checkoutCandidates(folder);
    const configured = vscode.workspace
      .getConfiguration("pomdb", folder)
      .get<string>("pythonPath", "")
      .trim();

    if (configured !== "") {
      const python = expandPath(configured, folder);
      if (!fs.existsSync(python)) {
        throw new PythonNotFoundError(
          `pomdb.pythonPath is set to "${configured}", but ${python} does not exist. ` +
            "Point the setting at the Python of a pomdb checkout " +
            "(for example /path/to/pomdb/.venv/bin/python) or clear it.",
        );
      }
      // A Python at <checkout>/.venv/bin/python runs the adapter of that checkout.
      const venvParent = path.resolve(python, "..", "..", "..");
      const checkout = [venvParent, ...candidates].find(isCheckout);
      return { python, cwd: checkout ?? folder?.uri.fsPath };
    }

    for (const dir of candidates) {
      const python = path.join(dir, VENV_PYTHON);
      if (fs.existsSync(python)) {
        return { python, cwd: dir };
      }
    }
    const searched = candidates.map((dir) => path.join(dir, VENV_PYTHON));
    throw new PythonNotFoundError(
      `pomdb found no Python environment for its debug adapter (searched ${searched.join(", ")}). ` +
        'Set "pomdb.pythonPath" to the Python of a pomdb checkout, or create the ' +
        "environment in the checkout: python3 -m venv .venv && .venv/bin/pip install -e .",
    );
  }

  private checkoutCandidates(
    folder: vscode.WorkspaceFolder | undefined,
  ): string[] {
    const dirs: string[] = [];
    // A symlinked extension folder resolves to extension/ inside the checkout, while an
    // extension installed from a .vsix lies in the editor's extensions folder.
    const extensionParent = path.dirname(realPath(this.extensionPath));
    if (isCheckout(extensionParent)) {
      dirs.push(extensionParent);
    }
    if (folder !== undefined && folder.uri.scheme === "file") {
      dirs.push(folder.uri.fsPath, path.dirname(folder.uri.fsPath));
    }
    return [...new Set(dirs)];
  }
}

/** Starts the Python debug adapter as a child process that speaks DAP over stdio. */
export class PomdpAdapterFactory
  implements vscode.DebugAdapterDescriptorFactory
{
  constructor(
    private readonly locator: PythonLocator,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  createDebugAdapterDescriptor(
    session: vscode.DebugSession,
  ): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const folder = session.workspaceFolder;
    const runtime = this.locator.locate(folder);

    const args = ["-m", "adapter"];
    const logFile = vscode.workspace
      .getConfiguration("pomdb", folder)
      .get<string>("adapterLogFile", "")
      .trim();
    if (logFile !== "") {
      args.push(
        "--log-file",
        expandPath(logFile, folder),
        "--log-level",
        "DEBUG",
      );
    }

    this.log.info(
      `starting debug adapter for session "${session.name}": ` +
        `${runtime.python} ${args.join(" ")} (cwd ${runtime.cwd ?? "inherited"})`,
    );
    return new vscode.DebugAdapterExecutable(runtime.python, args, {
      cwd: runtime.cwd,
    });
  }
}

/** Expands a leading `~` and `${workspaceFolder}` in a path taken from a setting. */
export function expandPath(
  value: string,
  folder: vscode.WorkspaceFolder | undefined,
): string {
  let expanded = value;
  if (folder !== undefined) {
    expanded = expanded.split("${workspaceFolder}").join(folder.uri.fsPath);
  }
  if (expanded === "~" || expanded.startsWith("~/")) {
    expanded = path.join(os.homedir(), expanded.slice(1));
  }
  if (!path.isAbsolute(expanded) && folder !== undefined) {
    expanded = path.join(folder.uri.fsPath, expanded);
  }
  return expanded;
}

function isCheckout(dir: string): boolean {
  return (
    fs.existsSync(path.join(dir, "pyproject.toml")) &&
    fs.existsSync(path.join(dir, "adapter"))
  );
}

function realPath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}
