// Measurements of the desktop app, in the real window on the real engine:
//   - launch to an interactive diagram of a 7-service stack (WebDriver session creation included),
//   - idle RSS/PSS of every process of the app (Rust main, WebKit web and network processes) and
//     their CPU over BENCH_IDLE_SECONDS while watching the running stack,
//   - diagram layout time (elkjs) for 50 and 200 services.
// Run: scripts/e2e.sh bench/app.mjs   (the same Xvfb + tauri-driver harness as the e2e tests)

import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Session, until } from "../tests/e2e/webdriver.mjs";

const APP = process.env.BERTH_APP;
const IDLE = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const HZ = 100;

function stack(name, services) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `berth-app-bench-${name}-`));
  fs.writeFileSync(path.join(dir, "compose.yaml"), "services:\n" + services.join(""));
  return dir;
}

const seven = stack("seven", [
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

const compose = (dir, ...args) => spawnSync("docker-compose", ["-p", "berthappbench", "-f", path.join(dir, "compose.yaml"), ...args], { stdio: "ignore" });

compose(seven, "up", "-d");
let app;
try {
  const t0 = Date.now();
  app = await Session.start(APP, [seven]);
  await until("7 nodes", async () => (await app.js(`return document.querySelectorAll("g.service").length`)) === 7, 30_000);
  const interactive = Date.now() - t0;
  await until("status colours", async () => (await app.js(`return [...document.querySelectorAll("g.service")].every(g => g.dataset.status !== "unknown")`)), 30_000);
  console.log(`launch to interactive 7-service diagram: ${interactive} ms (target < 1500 ms; includes WebDriver session setup)`);

  const mainPid = Number(spawnSync("pgrep", ["-n", "-f", APP], { encoding: "utf8" }).stdout.trim());
  await new Promise((r) => setTimeout(r, 3000));
  const pids = pidsOf(mainPid);
  const before = pids.map(ticks);
  await new Promise((r) => setTimeout(r, IDLE * 1000));
  const after = pids.map(ticks);
  let rss = 0, pss = 0, cpu = 0;
  for (const [i, pid] of pids.entries()) {
    const r = field(pid, "status", "VmRSS:"), p = field(pid, "smaps_rollup", "Pss:");
    const c = (after[i] - before[i]) / HZ / IDLE * 100;
    rss += r; pss += p; cpu += c;
    console.log(`  ${name(pid).padEnd(18)} pid ${String(pid).padEnd(7)} RSS ${(r / 1024).toFixed(1).padStart(6)} MB  PSS ${(p / 1024).toFixed(1).padStart(6)} MB  CPU ${c.toFixed(2)} %`);
  }
  console.log(`idle over ${IDLE} s, all ${pids.length} processes: RSS ${(rss / 1024).toFixed(0)} MB, PSS ${(pss / 1024).toFixed(0)} MB (target < 300 MB), CPU ${cpu.toFixed(2)} % (target < 1 %)`);

  for (const n of [50, 200]) {
    const dir = generated(n);
    await app.type("#stack-path", dir);
    await app.click("form button[type=submit]");
    await until(`${n} nodes`, async () => (await app.js(`return document.querySelectorAll("g.service").length`)) === n, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    const ms = await app.js(`return document.querySelector("svg.diagram").dataset.layoutMs`);
    console.log(`diagram layout (elkjs) for ${n} services: ${ms} ms`);
  }
} finally {
  if (app) await app.end();
  compose(seven, "down", "-v", "-t", "1");
}
