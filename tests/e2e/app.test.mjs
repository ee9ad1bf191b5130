// End-to-end tests of the real Berth window: the app binary under Xvfb, driven through
// tauri-driver and WebKitWebDriver, against the real Docker engine. Run by scripts/e2e.sh (from
// scripts/test.sh), which starts Xvfb and tauri-driver and builds the app.
//
// Plain W3C WebDriver over fetch: no client library to install.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { Session, until } from "./webdriver.mjs";

const APP = process.env.BERTH_APP;
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const SHOTS = path.join(REPO, "docs/screenshots");

let app;
let stackDir;
let project;

const js = (script, ...args) => app.js(script, ...args);
const click = (css) => app.click(css);
const type = (css, text) => app.type(css, text);

// WebKitWebDriver refuses to click SVG groups ("element not interactable"); the diagram's nodes
// are clicked the way a pointer would reach them, through a dispatched click event.
async function clickNode(service) {
  const ok = await js(`const g = document.querySelector('g.service[data-service="' + arguments[0] + '"]');
    if (!g) return false; g.dispatchEvent(new MouseEvent("click", { bubbles: true })); return true;`, service);
  assert.ok(ok, `node ${service} exists`);
}

async function shot(name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  fs.writeFileSync(path.join(SHOTS, `${name}.png`), await app.screenshot());
}

const statuses = () =>
  js(`return Object.fromEntries([...document.querySelectorAll("g.service")].map(g => [g.dataset.service, g.dataset.status]));`);

function dockerUp() {
  return spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0;
}

before(async () => {
  assert.ok(APP && fs.existsSync(APP), "BERTH_APP points at the built app");
  // A private copy of the demo stack, with a certificate made for this run.
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "berth-e2e-"));
  project = `berthe2e${process.pid}`;
  stackDir = path.join(base, project);
  fs.cpSync(path.join(REPO, "demo"), stackDir, { recursive: true });
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
    "-keyout", path.join(stackDir, "nginx/ssl/localhost.key"), "-out", path.join(stackDir, "nginx/ssl/localhost.crt")], { stdio: "ignore" });
  process.env.DEMO_HTTPS_PORT = "18543";
  const started = Date.now();
  app = await Session.start(APP, [stackDir]);
  await until("the diagram", async () => (await js(`return document.querySelectorAll("g.service").length`)) === 4, 30_000);
  console.log(`window to interactive diagram: ${Date.now() - started} ms`);
});

after(async () => {
  if (app) await app.end();
  if (!dockerUp()) spawnSync("sh", ["-c", "dockerd >>/tmp/berth-dockerd.log 2>&1 &"]);
  spawnSync("docker-compose", ["-p", project, "-f", path.join(stackDir, "docker-compose.yml"), "down", "-v", "-t", "1"], { stdio: "ignore" });
});

test("the diagram shows every service, its network and the connections with evidence", async () => {
  const services = await js(`return [...document.querySelectorAll("g.service")].map(g => g.dataset.service).sort()`);
  assert.deepEqual(services, ["app", "database", "nginx", "redis"]);
  const edges = await js(`return [...document.querySelectorAll("g.edge")].map(g => g.dataset.edge)`);
  for (const e of ["svc:nginx>svc:app", "svc:app>svc:database", "svc:app>svc:redis"]) {
    assert.ok(edges.includes(e), `edge ${e} in ${edges}`);
  }
  const evidence = await js(`return [...document.querySelectorAll("g.edge")].find(g => g.dataset.edge === "svc:nginx>svc:app").querySelector("title").textContent`);
  assert.match(evidence, /proxy_pass: nginx\/conf\.d\/default\.conf:\d+/, "hover shows the nginx line");
  assert.equal(await js(`return document.querySelectorAll("g.network").length`), 1);
  const volumes = await js(`return [...document.querySelectorAll("g.volume")].map(g => g.dataset.volume).sort()`);
  assert.deepEqual(volumes, ["pgdata", "redisdata"], "named volumes are drawn");
  const recent = await until("the stack in the sidebar", async () =>
    js(`return [...document.querySelectorAll("#recent-stacks li")].map(li => li.dataset.path)`).then((r) => (r.includes(stackDir) ? r : false)));
  assert.ok(recent.includes(stackDir), "the opened stack is remembered in SQLite and listed");
});

test("the diagram exports as Mermaid text and SVG", async () => {
  await click("#btn-export-mermaid");
  const mermaid = await until("export text", async () => js(`return document.querySelector("#export textarea")?.value`));
  assert.match(mermaid, /^flowchart LR/);
  assert.match(mermaid, /svc_nginx -->\|depends_on, proxy_pass\| svc_app/);
  await click("#btn-export-svg");
  const svg = await until("svg text", async () => {
    const t = await js(`return document.querySelector("#export textarea")?.value`);
    return t && t.startsWith("<svg") ? t : false;
  });
  assert.ok(svg.includes('data-service="nginx"'), "the exported SVG holds the nodes");
});

test("Up brings every service to green", async () => {
  await click("#btn-up");
  await until("all green", async () => {
    const s = await statuses();
    return Object.values(s).length === 4 && Object.values(s).every((v) => v === "good") ? s : false;
  }, 180_000);
  const listed = await until("the stack among the engine's projects", async () =>
    js(`return document.querySelector('#discovered li[data-project="' + arguments[0] + '"] .count')?.textContent`, project));
  assert.equal(listed, "4/4", "discovered from container labels, with its running count");
  const summary = await js(`return document.getElementById("summary").textContent`);
  assert.match(summary, /4 running · 0 unhealthy · 0 exited/);
  await shot("stack-running");
});

test("Stop in the service panel turns that node red", async () => {
  await clickNode("redis");
  await until("the panel", async () => (await js(`return document.getElementById("service-panel")?.dataset.service`)) === "redis");
  // Opening the panel streams that service's resources: a few samples arrive, one a second.
  const samples = await until("stats samples", async () => {
    const n = Number(await js(`return document.getElementById("spark-mem")?.dataset.samples ?? 0`));
    return n >= 2 ? n : false;
  }, 20_000);
  assert.ok(samples >= 2, "memory sparkline has samples");
  assert.match(await js(`return document.querySelector("#spark-mem .spark-value").textContent`), /MiB$/);
  // Up may still be finishing its own wait when the nodes turn green: action buttons stay
  // disabled until it returns, and a click on a disabled button does nothing.
  await until("actions enabled", async () => js(`return !document.getElementById("svc-stop").disabled`), 60_000);
  const t0 = Date.now();
  await click("#svc-stop");
  await until("redis red", async () => (await statuses()).redis === "bad", 30_000);
  console.log(`stop click to red node: ${Date.now() - t0} ms`);
  await shot("service-panel-stopped");
  // The stop action may still be finishing (buttons are disabled while an action runs).
  await until("actions enabled", async () => js(`return !document.getElementById("svc-start").disabled`), 30_000);
  await click("#svc-start");
  await until("redis green again", async () => (await statuses()).redis === "good", 60_000);
});

test("the logs view shows and filters what a service printed", async () => {
  await clickNode("app");
  await until("app log lines", async () => (await js(`return document.getElementById("log-lines").textContent`)).includes("response:200"), 30_000);
  await type("#log-filter", "response:200");
  const lines = await js(`return [...document.querySelectorAll("#log-lines > div")].map(d => d.textContent)`);
  assert.ok(lines.length > 0, "some lines match");
  assert.ok(lines.every((l) => l.includes("response:200")), "every shown line matches the filter");
  await shot("logs-filtered");
});

test("with dockerd stopped a banner says so, and the app recovers by itself", async () => {
  const pid = fs.readFileSync("/var/run/docker.pid", "utf8").trim();
  execFileSync("kill", ["-TERM", pid]);
  await until("dockerd down", async () => !dockerUp(), 40_000);
  await until("the banner", async () => js(`return !!document.getElementById("engine-banner")`), 30_000);
  await shot("engine-down");
  await until("old dockerd gone", async () => spawnSync("kill", ["-0", pid]).status !== 0, 40_000);
  spawnSync("sh", ["-c", "dockerd >>/tmp/berth-dockerd.log 2>&1 &"]);
  await until("dockerd up", async () => dockerUp(), 60_000);
  await until("banner gone", async () => js(`return !document.getElementById("engine-banner")`), 60_000);
});

test("the app writes a rotating log of its commands", async () => {
  const dir = path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), ".local/share"), "dev.berth.desktop", "logs");
  const files = fs.readdirSync(dir).filter((f) => f.startsWith("berth") && f.endsWith(".log"));
  assert.equal(files.length, 1, `one log file for today in ${dir}: ${files}`);
  const text = fs.readFileSync(path.join(dir, files[0]), "utf8");
  assert.match(text, /berth started/);
  assert.match(text, /open_stack/, "commands are traced");
  assert.doesNotMatch(text, /demo-secret/, "no secret reaches the log");
});
