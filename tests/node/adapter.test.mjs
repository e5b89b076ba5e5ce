// pomdb's debug adapter driven by @vscode/debugadapter-testsupport's DebugClient, a DAP
// client independent of the Python tests. DebugClient.waitForEvent does not buffer
// events, so each test starts waiting before the request that triggers the event.
import assert from "node:assert/strict";
import path from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { fileURLToPath } from "node:url";

import testSupport from "@vscode/debugadapter-testsupport";

const { DebugClient } = testSupport;

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const PYTHON = path.join(REPO, ".venv", "bin", "python");
const SCENARIO = path.join(REPO, "samples", "intrusion_prevention.yaml");
// Declaration lines of samples/intrusion_prevention.yaml.
const NO_INTRUSION_LINE = 10;
const INTRUSION_LINE = 11;
// Starting Python and scipy takes seconds on a busy machine.
const TIMEOUT_MS = 30_000;

// Seed 3 under threshold:0.5: the intrusion starts at t=28. Seed 1: the defender stops
// at t=27 with no intrusion, the first false alarm of seeds 0, 1, ... (found with
// simcore.episode.Simulator in tests/test_breakpoints.py).
const SEED_3 = { scenario: SCENARIO, policy: "threshold:0.5", seed: 3, stopOnEntry: false };

let client;

beforeEach(async () => {
  // DebugClient spawns runtime + one argument; "-madapter" is "python -m adapter".
  client = new DebugClient(PYTHON, "-madapter", "pomdp", { cwd: REPO });
  client.defaultTimeout = TIMEOUT_MS;
  await client.start();
});

afterEach(async () => {
  await client.stop();
});

/** Launches, lets `configure` set breakpoints, and returns the first stopped event. */
async function launchAndStop(launchArgs, configure) {
  const initialized = client.waitForEvent("initialized");
  const launched = client.launch(launchArgs);
  await initialized;
  const configured = await configure();
  const stopped = client.waitForEvent("stopped");
  await client.configurationDoneRequest();
  await launched;
  return { configured, stopped: await stopped };
}

async function topFrame() {
  const response = await client.stackTraceRequest({ threadId: 1, levels: 1 });
  return response.body.stackFrames[0];
}

async function scopeVariables(frameId) {
  const scopes = (await client.scopesRequest({ frameId })).body.scopes;
  const result = {};
  for (const scope of scopes) {
    const reference = { variablesReference: scope.variablesReference };
    result[scope.name] = (await client.variablesRequest(reference)).body.variables;
  }
  return result;
}

test("breakpoint on the intrusion line stops at the first intrusion", async () => {
  await client.hitBreakpoint(SEED_3, { path: SCENARIO, line: INTRUSION_LINE });
  const frame = await topFrame();
  assert.equal(frame.name, "t=28 intrusion → continue");
  assert.equal(frame.source.path, SCENARIO);
});

test("stepBack and next return to the same step", async () => {
  await client.hitBreakpoint(SEED_3, { path: SCENARIO, line: INTRUSION_LINE });
  const before = await scopeVariables((await topFrame()).id);

  let stopped = client.waitForEvent("stopped");
  await client.stepBackRequest({ threadId: 1 });
  assert.equal((await stopped).body.reason, "step");
  const back = await topFrame();
  assert.equal(back.name, "t=27 no_intrusion → continue");
  assert.equal(back.line, NO_INTRUSION_LINE);

  stopped = client.waitForEvent("stopped");
  await client.nextRequest({ threadId: 1 });
  await stopped;
  const again = await topFrame();
  assert.equal(again.line, INTRUSION_LINE);
  assert.deepEqual(await scopeVariables(again.id), before);
});

test("variables of each scope", async () => {
  await client.hitBreakpoint(SEED_3, { path: SCENARIO, line: INTRUSION_LINE });
  const frame = await topFrame();
  const scopes = await scopeVariables(frame.id);
  const names = (scope) => scopes[scope].map((variable) => variable.name);
  const value = (scope, name) => scopes[scope].find((v) => v.name === name).value;

  assert.deepEqual(Object.keys(scopes), ["Belief", "Observation", "Policy", "Hidden", "Reward"]);
  assert.deepEqual(names("Belief"), ["no_intrusion", "intrusion", "terminal"]);
  assert.deepEqual(names("Policy"), ["continue", "stop", "action", "stops left"]);
  assert.deepEqual(names("Hidden"), ["state", "attacker action"]);
  assert.deepEqual(names("Reward"), ["reward", "return", "t"]);
  assert.equal(names("Observation")[0], "o");
  assert.equal(value("Hidden", "state"), "intrusion");
  assert.equal(value("Reward", "t"), "28");
  const belief = scopes.Belief.reduce((sum, v) => sum + Number(v.value), 0);
  assert.ok(Math.abs(belief - 1) < 1e-5, `belief sums to ${belief}`);

  for (const variable of Object.values(scopes).flat()) {
    if (!variable.evaluateName) continue;
    const args = { expression: variable.evaluateName, frameId: frame.id, context: "watch" };
    const result = (await client.evaluateRequest(args)).body.result;
    assert.equal(result, variable.value, variable.evaluateName);
  }
});

test("invalid condition is returned unverified", async () => {
  const { configured, stopped } = await launchAndStop(SEED_3, () =>
    client.setBreakpointsRequest({
      source: { path: SCENARIO },
      breakpoints: [{ line: INTRUSION_LINE, condition: "b.intrusion >" }],
    }),
  );
  const [breakpoint] = configured.body.breakpoints;
  assert.equal(breakpoint.verified, false);
  assert.match(breakpoint.message, /^invalid condition: expected a value after '>'/);
  assert.equal(stopped.body.reason, "end of episode");
});

test("false_alarm filter stops when the defender stops with no intrusion", async () => {
  const launchArgs = { ...SEED_3, seed: 1 };
  const { configured, stopped } = await launchAndStop(launchArgs, () =>
    client.setExceptionBreakpointsRequest({ filters: ["false_alarm"] }),
  );
  assert.deepEqual(configured.body.breakpoints, [{ verified: true }]);
  assert.equal(stopped.body.reason, "exception");
  assert.equal(stopped.body.text, "False alarm");
  assert.equal(stopped.body.description, "t=27: false alarm, the defender stops with no intrusion");

  const info = await client.exceptionInfoRequest({ threadId: 1 });
  assert.equal(info.body.exceptionId, "false_alarm");
  const scopes = await scopeVariables((await topFrame()).id);
  assert.equal(scopes.Hidden.find((v) => v.name === "state").value, "no_intrusion");
  assert.equal(scopes.Policy.find((v) => v.name === "action").value, "stop");
});
