// Ports and child processes of the end-to-end harness: all on 127.0.0.1, all started
// by the harness itself.
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

/** Sends `signal` to a pid (a negative pid: a process group) unless it has exited. */
export function killIfRunning(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if (error.code !== "ESRCH") throw error;
  }
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort() {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

/** Waits until code-server responds on /healthz, or fails when it exits or 60 s pass. */
export async function waitForHealth(baseUrl, server, logFile) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      throw new Error(
        `code-server exited with ${server.exitCode}; see ${logFile}`,
      );
    }
    try {
      const response = await fetch(`${baseUrl}/healthz`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `code-server did not respond on ${baseUrl}/healthz within 60 s; see ${logFile}`,
  );
}

/** Reads the port that chromium writes into <profile>/DevToolsActivePort once it listens. */
export async function waitForDevToolsPort(profileDir, child) {
  const file = path.join(profileDir, "DevToolsActivePort");
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `chromium exited with ${child.exitCode} before it opened its DevTools port`,
      );
    }
    if (fs.existsSync(file)) {
      const port = Number(fs.readFileSync(file, "utf8").split("\n")[0]);
      if (Number.isInteger(port) && port > 0) return port;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`chromium did not write ${file} within 30 s`);
}
