// Starts a real Daybook stack for the browser tests (`daybook up` with free ports and a temporary
// data dir), or uses the running one at GATEWAY_URL. The web app must be built (npm run build).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

async function waitFor(url, isReady, seconds, child) {
  const deadline = Date.now() + seconds * 1000;
  let last = "";
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`daybook up exited (${child.exitCode}) before ${url} was ready`);
    try {
      const response = await fetch(url);
      if (isReady(response)) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready after ${seconds}s (${last})`);
}

export async function startStack() {
  // Against a given stack, DAYBOOK_TEST_MAIL_DIR names its users service's mail directory (as for tests/).
  if (process.env.GATEWAY_URL) {
    const createSuperuser = () => {
      throw new Error("against GATEWAY_URL the admin test needs a stack started by the test run (it makes a superuser with `daybook users create-superuser`)");
    };
    return { url: process.env.GATEWAY_URL.replace(/\/$/, ""), mailDir: process.env.DAYBOOK_TEST_MAIL_DIR, createSuperuser, stop: async () => {} };
  }
  const dataDir = mkdtempSync(join(tmpdir(), "daybook-web-e2e-"));
  const ports = {};
  for (const name of ["GATEWAY_PORT", "USERS_PORT", "JOURNAL_PORT", "REMINDERS_PORT", "GATEWAY_ADMIN_PORT", "REMINDERS_SCHEDULER_PORT", "DAYBOOK_PG_PORT", "DAYBOOK_NATS_PORT"]) ports[name] = String(await freePort());
  const daybook = join(ROOT, ".venv/bin/daybook");
  const [command, args] = existsSync(daybook) ? [daybook, ["up"]] : ["uv", ["run", "daybook", "up"]];
  const env = { ...process.env, ...ports, DAYBOOK_DATA_DIR: join(dataDir, "data"), DAYBOOK_PG_FSYNC_OFF: "1", DAYBOOK_READY_TIMEOUT: "120", NO_COLOR: "1" };
  const child = spawn(command, args, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env });
  /** `daybook users create-superuser` on this stack (the password through the environment, as the README says). */
  const createSuperuser = (email, password) => {
    const cli = command === daybook ? [daybook, []] : ["uv", ["run", "daybook"]];
    const run = spawnSync(cli[0], [...cli[1], "users", "create-superuser", "--email", email, "--password-env", "E2E_ADMIN_PASSWORD"], {
      cwd: ROOT,
      env: { ...env, E2E_ADMIN_PASSWORD: password },
      encoding: "utf8",
      timeout: 60_000,
    });
    if (run.status !== 0) throw new Error(`create-superuser failed (${run.status}): ${run.stdout}${run.stderr}`);
  };
  let output = "";
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-20000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const url = `http://127.0.0.1:${ports.GATEWAY_PORT}`;
  const stop = async () => {
    if (child.exitCode === null) {
      process.kill(-child.pid, "SIGTERM");
      await new Promise((done) => {
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {
            // already gone
          }
          done();
        }, 30_000);
        child.once("exit", () => {
          clearTimeout(timer);
          done();
        });
      });
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor(`${url}/ready`, (r) => r.status === 200, 150, child);
    await waitFor(`${url}/`, (r) => r.status === 200, 180, child); // the app's build, if it was stale
  } catch (error) {
    await stop();
    throw new Error(`${error.message}\n--- daybook up output:\n${output}`);
  }
  return { url, mailDir: join(dataDir, "data", "mail"), createSuperuser, stop, output: () => output }; // the launcher writes each email there
}
