// Measurements of the desktop app, in the real window on the real engine:
//   - launch to an interactive diagram of a 7-service stack (WebDriver session creation included),
//   - idle RSS/PSS of every process of the app (Rust main, WebKit web and network processes) and
//     their CPU over BENCH_IDLE_SECONDS while watching the running stack, after a first open (ELK
//     ran) and after a later launch (the kept layout), against the peer: a blank WebKitGTK window
//     (bench/blank-webview.py, the floor under any WebKitGTK app) over the same time,
//   - diagram layout time (elkjs) for 50 and 200 services,
//   - the log view with 1M lines: time for a service's million lines to be in the view against
//     `docker logs -f` reading the same million, memory of every process with them held, and
//     frame times while scrolling through them.
// Run: scripts/e2e.sh bench/app.mjs   (the same Xvfb + tauri-driver harness as the e2e tests)
// BENCH_ONLY=launch or BENCH_ONLY=idle stops after that part; BENCH_IDLE_SECONDS (60) sets the idle window.

import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Session, until } from "../tests/e2e/webdriver.mjs";

const APP = process.env.BERTH_APP;
const IDLE = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const HZ = 100;

// The folder's name is the compose project's name, so the app and docker-compose agree on it.
function stack(name, services) {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "berth-app-bench-")), name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "compose.yaml"), "services:\n" + services.join(""));
  return dir;
}

const seven = stack("berthappbench", [
  `  nginx:\n    image: nginx:alpine\n    depends_on: [php-fpm]\n    ports: ["127.0.0.1:18280:80"]\n`,
  `  php-fpm:\n    image: php:8.3-fpm-alpine\n    environment: {DB_HOST: mysql, REDIS_HOST: redis}\n`,
  ...["queue-worker", "scheduler"].map((n) => `  ${n}:\n    image: berth-fixture/busybox:1\n    init: true\n    command: ["sleep", "86400"]\n    environment: {DB_HOST: mysql}\n`),
  `  mysql:\n    image: mysql:8.0\n    environment: {MARIADB_ROOT_PASSWORD: bench-root}\n    healthcheck:\n      test: ["CMD-SHELL", "mysqladmin ping -uroot -pbench-root"]\n      interval: 2s\n      retries: 60\n`,
  `  redis:\n    image: redis:7-alpine\n    healthcheck:\n      test: ["CMD", "redis-cli", "ping"]\n      interval: 2s\n`,
  `  frontend-dev:\n    image: berth-fixture/busybox:1\n    init: true\n    command: ["sleep", "86400"]\n`,
]);

function generated(n) {
  return stack(`gen${n}`, Array.from({ length: n }, (_, i) => {
    const deps = i > 0 ? `    depends_on: [s${Math.floor(i / 3)}]\n` : "";
    return `  s${i}:\n    image: berth-fixture/busybox:1\n${deps}    environment:\n      UPSTREAM_URL: http://s${(i * 7) % n}:8000\n`;
  }));
}

const pidsOf = (root) => {
  const all = [root];
  for (let i = 0; i < all.length; i++) {
    const kids = spawnSync("pgrep", ["-P", String(all[i])], { encoding: "utf8" }).stdout.split(/\s+/).filter(Boolean).map(Number);
    all.push(...kids);
  }
  return all;
};
const field = (pid, file, key) => {
  try {
    const line = fs.readFileSync(`/proc/${pid}/${file}`, "utf8").split("\n").find((l) => l.startsWith(key));
    return line ? Number(line.split(/\s+/)[1]) : 0;
  } catch { return 0; }
};
const ticks = (pid) => {
  try {
    const parts = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(")").pop().trim().split(/\s+/);
    return Number(parts[11]) + Number(parts[12]);
  } catch { return 0; }
};
const name = (pid) => { try { return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim(); } catch { return "?"; } };

const LINES = Number(process.env.BENCH_LOG_LINES ?? 1_000_000);
const sumMem = (pids) => pids.reduce((a, pid) => [a[0] + field(pid, "status", "VmRSS:"), a[1] + field(pid, "smaps_rollup", "Pss:")], [0, 0]).map((kb) => (kb / 1024).toFixed(0));
const containerOf = (service) => spawnSync("docker", ["ps", "-q", "--filter", "label=com.docker.compose.project=berthappbench", "--filter", `label=com.docker.compose.service=${service}`], { encoding: "utf8" }).stdout.trim();
// A million access-log-like lines written to the service's own stdout (PID 1's), as if it printed them.
const GENERATE = `seq 1 ${LINES} | sed 's|.*|GET /api/items?page=& HTTP/1.1 200 1532 0.004|' > /proc/1/fd/1`;

// Milliseconds from starting the generator until `docker logs -f` has printed its last line.
async function dockerLogsFollow(container) {
  const follower = spawn("docker", ["logs", "-f", "--tail", "0", container], { stdio: ["ignore", "pipe", "ignore"] });
  await new Promise((r) => setTimeout(r, 1000));
  const last = Buffer.from(`page=${LINES} `);
  const t0 = Date.now();
  const done = new Promise((resolve) => {
    let tail = Buffer.alloc(0);
    follower.stdout.on("data", (chunk) => {
      tail = Buffer.concat([tail.subarray(-64), chunk]);
      if (tail.includes(last)) resolve(Date.now() - t0);
    });
  });
  const gen = spawn("docker", ["exec", container, "sh", "-c", GENERATE], { stdio: "ignore" });
  const ms = await done;
  follower.kill();
  await new Promise((r) => gen.exitCode !== null ? r() : gen.on("exit", r));
  return ms;
}

async function logBench(app, mainPid) {
  const talker = containerOf("queue-worker");
  await app.js(`const g = document.querySelector('g.service[data-service="queue-worker"]'); g.dispatchEvent(new MouseEvent("click", { bubbles: true }));`);
  await until("the queue-worker log view", async () => (await app.js(`return document.querySelector(".logbar strong")?.textContent`)) === "Logs · queue-worker");
  const [rss0, pss0] = sumMem(pidsOf(mainPid));
  const total = () => app.js(`return Number(document.getElementById("log-lines").dataset.total) + Number(document.getElementById("log-lines").dataset.evicted)`);
  const base = await total();
  const pids = pidsOf(mainPid);
  const cpu0 = pids.map(ticks);
  let t0 = Date.now();
  execFileSync("docker", ["exec", talker, "sh", "-c", GENERATE]);
  const written = Date.now() - t0;
  let seen = 0;
  await until("a million lines in the view", async () => {
    const n = await total();
    if (process.env.BENCH_DEBUG && n !== seen) console.log(`  ${Date.now() - t0} ms: ${n}`);
    seen = n;
    return n >= base + LINES;
  }, 600_000);
  const berthMs = Date.now() - t0;
  const cpuUsed = pids.map((pid, i) => `${name(pid)} ${((ticks(pid) - cpu0[i]) / HZ).toFixed(1)} s`).join(", ");
  const [rss1, pss1] = sumMem(pidsOf(mainPid));

  // Frame times: a continuous scroll through the whole million, one step per frame, then jumps
  // to random places, each timed until its rows are on screen.
  const scroll = await app.js(`
    const el = document.getElementById("log-lines");
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    const shown = () => Number(el.querySelector(".log-row")?.dataset.seq) === Number(el.dataset.first) + Number(el.dataset.evicted);
    const gaps = [];
    el.scrollTop = 0; await frame();
    let last = performance.now();
    for (let i = 0; i < 240; i++) {
      el.scrollTop += (el.scrollHeight - el.clientHeight) / 240;
      await frame();
      const now = performance.now(); gaps.push(now - last); last = now;
    }
    const jumps = [];
    for (let i = 0; i < 60; i++) {
      const t = performance.now();
      el.scrollTop = Math.random() * (el.scrollHeight - el.clientHeight);
      do { await frame(); } while (!shown() && performance.now() - t < 2000);
      jumps.push(performance.now() - t);
    }
    const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))];
    return { p50: pct(gaps, 0.5), p95: pct(gaps, 0.95), max: Math.max(...gaps), jump50: pct(jumps, 0.5), jump95: pct(jumps, 0.95), rows: el.querySelectorAll(".log-row").length };`);
  const [rss2, pss2] = sumMem(pidsOf(mainPid));

  // The peer: docker logs -f on the same container, until it has printed the next million.
  await app.js(`const g = document.querySelector('g.service[data-service="scheduler"]'); g.dispatchEvent(new MouseEvent("click", { bubbles: true }));`);
  const peerMs = await dockerLogsFollow(talker);
  console.log(`log view, ${LINES.toLocaleString("en-US")} lines (the container wrote them in ${written} ms):`);
  console.log(`  written to all in the view: ${berthMs} ms; docker logs -f saw the last: ${peerMs} ms; ratio ${(peerMs / berthMs).toFixed(2)}x (above 1 means Berth is faster)`);
  console.log(`  CPU time while taking them in: ${cpuUsed}`);
  console.log(`  memory of all processes: RSS ${rss0} -> ${rss1} MB, PSS ${pss0} -> ${pss1} MB with the lines held; ${rss2}/${pss2} MB after scrolling`);
  console.log(`  scrolling: frame p50 ${scroll.p50.toFixed(1)} ms, p95 ${scroll.p95.toFixed(1)} ms, max ${scroll.max.toFixed(1)} ms; jump to a random place p50 ${scroll.jump50.toFixed(1)} ms, p95 ${scroll.jump95.toFixed(1)} ms; rows in the page ${scroll.rows}`);
}

// Idle memory and CPU of a process and its children over `seconds`, each process printed.
async function idle(root, seconds) {
  const pids = pidsOf(root);
  const before = pids.map(ticks);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = pids.map(ticks);
  let rss = 0, pss = 0, cpu = 0;
  for (const [i, pid] of pids.entries()) {
    const r = field(pid, "status", "VmRSS:"), p = field(pid, "smaps_rollup", "Pss:");
    const c = (after[i] - before[i]) / HZ / seconds * 100;
    rss += r; pss += p; cpu += c;
    console.log(`  ${name(pid).padEnd(18)} pid ${String(pid).padEnd(7)} RSS ${(r / 1024).toFixed(1).padStart(6)} MB  PSS ${(p / 1024).toFixed(1).padStart(6)} MB  CPU ${c.toFixed(2)} %`);
  }
  return { n: pids.length, rss: rss / 1024, pss: pss / 1024, cpu };
}
const idleLine = (what, m) => `${what}, idle over ${IDLE} s, all ${m.n} processes: RSS ${m.rss.toFixed(0)} MB, PSS ${m.pss.toFixed(0)} MB (target < 300 MB), CPU ${m.cpu.toFixed(2)} % (target < 1 %)`;

// The peer for memory: a blank WebKitGTK window, under the same display and the same WebKit
// setting the app makes (no compositing).
async function blankWebview() {
  const py = "/usr/bin/python3";
  if (spawnSync(py, ["-c", "import gi; gi.require_version('WebKit2', '4.1')"]).status !== 0) {
    console.log("blank WebKitGTK window: not measured (needs Debian's python3-gi and gir1.2-webkit2-4.1)");
    return null;
  }
  const child = spawn(py, [path.join(path.dirname(new URL(import.meta.url).pathname), "blank-webview.py")],
    { stdio: "ignore", env: { ...process.env, WEBKIT_DISABLE_COMPOSITING_MODE: "1" } });
  try {
    await new Promise((r) => setTimeout(r, 5000));
    const m = await idle(child.pid, IDLE);
    console.log(idleLine("blank WebKitGTK window (the peer)", m));
    return m;
  } finally {
    child.kill();
  }
}
const versus = (m, blank) => blank
  ? `  against the blank WebKitGTK window: RSS ${(m.rss / blank.rss).toFixed(2)}x (+${(m.rss - blank.rss).toFixed(0)} MB), PSS ${(m.pss / blank.pss).toFixed(2)}x (+${(m.pss - blank.pss).toFixed(0)} MB)`
  : "";

const compose = (dir, ...args) => spawnSync("docker-compose", ["-p", "berthappbench", "-f", path.join(dir, "compose.yaml"), ...args], { stdio: "ignore" });

// Launches the app on the 7-service stack and prints how long it took to an interactive diagram,
// from the WebDriver client's side and from the app process's own start.
async function launch(label) {
  const t0 = Date.now();
  const app = await Session.start(APP, [seven]);
  await until("7 nodes", async () => (await app.js(`return document.querySelectorAll("g.service").length`)) === 7, 30_000);
  const interactive = Date.now() - t0;
  await until("every service running (green)", async () => (await app.js(`return [...document.querySelectorAll("g.service")].every(g => g.dataset.status === "good")`)), 180_000);
  const source = await app.js(`return document.querySelector("svg.diagram").dataset.layoutSource`);
  console.log(`${label}: launch to interactive 7-service diagram ${interactive} ms (target < 1500 ms; includes WebDriver session setup); layout from ${source}`);
  const mainPid = Number(spawnSync("pgrep", ["-n", "-f", APP], { encoding: "utf8" }).stdout.trim());
  // Process start from /proc (10 ms precision) to the marks the page leaves on <html>, without
  // the WebDriver session's own setup.
  const started = (() => {
    const startTicks = Number(fs.readFileSync(`/proc/${mainPid}/stat`, "utf8").split(")").pop().trim().split(/\s+/)[19]);
    const uptime = Number(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    return Date.now() - (uptime - startTicks / HZ) * 1000;
  })();
  const marks = await app.js(`const h = document.documentElement; return Object.fromEntries(["tNavigation", "tScript", "tOpened", "tDiagram"].map((k) => [k, h.dataset[k]]))`);
  const at = (k) => `${Math.round(Number(marks[k]) - started)} ms`;
  console.log(`  from the app process's start: page navigation ${at("tNavigation")}, script running ${at("tScript")}, stack model in ${at("tOpened")}, diagram laid out ${at("tDiagram")}`);
  return { app, mainPid };
}

compose(seven, "up", "-d");
let app;
try {
  const blank = process.env.BENCH_ONLY === "launch" ? null : await blankWebview();
  // The first open of a stack lays it out with ELK; later launches draw the layout kept then.
  let mainPid;
  ({ app, mainPid } = await launch("first open of the stack"));
  if (process.env.BENCH_ONLY !== "launch") {
    // The open-time work (the drift check, the first checks) is over by then.
  await new Promise((r) => setTimeout(r, 10_000));
    const m = await idle(mainPid, IDLE);
    console.log(idleLine("after the first open", m));
    console.log(versus(m, blank));
  }
  await app.end();
  app = null;
  ({ app, mainPid } = await launch("next launch, same stack"));
  if (process.env.BENCH_ONLY !== "launch") await measureRest(app, mainPid, blank);
} finally {
  if (app) await app.end();
  compose(seven, "down", "-v", "-t", "1");
}

async function measureRest(app, mainPid, blank) {
  // The open-time work (the drift check, the first checks) is over by then.
  await new Promise((r) => setTimeout(r, 10_000));
  const m = await idle(mainPid, IDLE);
  console.log(idleLine("next launch", m));
  console.log(versus(m, blank));

  if (process.env.BENCH_ONLY === "idle") return;
  await logBench(app, mainPid);

  for (const n of [50, 200]) {
    const dir = generated(n);
    await app.type("#stack-path", dir);
    // The longest gap between frames while the stack opens and is laid out: what the window
    // feels like meanwhile.
    await app.js(`window.__gap = 0; let last = performance.now(); window.__frames = true;
      const f = (t) => { window.__gap = Math.max(window.__gap, t - last); last = t; if (window.__frames) requestAnimationFrame(f); };
      requestAnimationFrame(f);`);
    await app.click("form button[type=submit]");
    await until(`${n} nodes`, async () => (await app.js(`return document.querySelectorAll("g.service").length`)) === n, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    const ms = await app.js(`return document.querySelector("svg.diagram").dataset.layoutMs`);
    const gap = await app.js(`window.__frames = false; return window.__gap`);
    console.log(`diagram layout (elkjs, in a worker) for ${n} services: ${ms} ms; longest frame meanwhile ${gap.toFixed(0)} ms`);
  }
}
