// End-to-end tests of the real Berth window: the app binary under Xvfb, driven through
// tauri-driver and WebKitWebDriver, against the real Docker engine. Run by scripts/e2e.sh (from
// scripts/test.sh), which starts Xvfb and tauri-driver and builds the app.
//
// Plain W3C WebDriver over fetch: no client library to install.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import { Session, until } from "./webdriver.mjs";

const APP = process.env.BERTH_APP;
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const SHOTS = path.join(REPO, "docs/screenshots");
// ELK itself, from the UI's dependencies: the reference the drawn layout's crossings are held to.
const ELK = createRequire(import.meta.url)(path.join(REPO, "ui/node_modules/elkjs/lib/elk.bundled.js"));

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
  await app.screenshotTo(path.join(SHOTS, `${name}.png`));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// axe-core (from the UI's dev dependencies) run inside the real window: the serious and critical
// violations on the screen as it is now.
const AXE = fs.readFileSync(path.join(REPO, "ui/node_modules/axe-core/axe.min.js"), "utf8");
async function axeProblems() {
  if (!(await js(`return typeof window.axe === "object"`))) await js(`${AXE}; return true;`);
  await js(`window.__axe = null; axe.run(document, { resultTypes: ["violations"] }).then(r => { window.__axe = r.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => v.id + " (" + v.impact + "): " + v.help + " — " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")); }); return true;`);
  return until("axe's result", async () => js(`return window.__axe`), 60_000);
}

// Native GTK dialogs are answered the way a person would, with keys typed into the dialog
// window under Xvfb (xdotool), never through a test-only path in the app.
async function answerDialog(title, steps) {
  const wid = await until(`the "${title}" dialog`, async () =>
    spawnSync("xdotool", ["search", "--onlyvisible", "--name", title], { encoding: "utf8" }).stdout.trim().split("\n")[0] || false, 20_000);
  spawnSync("xdotool", ["windowfocus", "--sync", wid]);
  await sleep(300);
  for (const step of steps) {
    spawnSync("xdotool", step);
    await sleep(400);
  }
}
const saveAs = (title, file) => answerDialog(title, [["key", "ctrl+a"], ["type", "--delay", "10", file], ["key", "Return"]]);

// The running container of one of the demo's services, by compose's labels.
function containerOf(service) {
  return execFileSync("docker", ["ps", "-q", "--filter", `label=com.docker.compose.project=${project}`, "--filter", `label=com.docker.compose.service=${service}`], { encoding: "utf8" }).trim();
}
// Lines written to PID 1's stdout land in the container's log, as if the service printed them.
function appPrints(shell) {
  execFileSync("docker", ["exec", containerOf("app"), "sh", "-c", `${shell} > /proc/1/fd/1`]);
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
  // Hovering the edge shows its evidence in a tooltip; none of it is written into the SVG.
  await js(`[...document.querySelectorAll("g.edge")].find(g => g.dataset.edge === "svc:nginx>svc:app").dispatchEvent(new MouseEvent("mouseenter", { clientX: 200, clientY: 200 }))`);
  const evidence = await until("the evidence tooltip", async () => js(`return document.getElementById("edge-tip")?.textContent`));
  assert.match(evidence, /proxy_pass: nginx\/conf\.d\/default\.conf:\d+/, "hover shows the nginx line");
  assert.equal(await js(`return document.querySelector("svg.diagram").innerHTML.includes("DATABASE_URL")`), false, "no environment value in the SVG");
  await until("the badges drawn", async () => (await js(`return document.querySelector("svg.diagram").dataset.badges`)) === "ready");
  const badges = await js(`return [...document.querySelectorAll('g.badges[data-edge="svc:nginx>svc:app"] text')].map(t => t.textContent)`);
  assert.deepEqual(badges.sort(), ["depends: healthy", "proxy"], "one badge per kind (with the condition it waits for), not stacked labels");
  const summary = await until("the summary", async () => js(`return document.getElementById("summary").textContent`));
  assert.match(summary, /4 not created/, `a stack nobody started says so: ${summary}`);
  assert.equal(await js(`return document.querySelectorAll("g.service.absent").length`), 4, "and its nodes are drawn as not created");
  assert.equal(await js(`return document.querySelectorAll("g.network").length`), 1);
  const volumes = await js(`return [...document.querySelectorAll("g.volume")].map(g => g.dataset.volume).sort()`);
  assert.deepEqual(volumes, ["pgdata", "redisdata"], "named volumes are drawn");
  const recent = await until("the stack in the sidebar", async () =>
    js(`return [...document.querySelectorAll("#recent-stacks li")].map(li => li.dataset.path)`).then((r) => (r.includes(stackDir) ? r : false)));
  assert.ok(recent.includes(stackDir), "the opened stack is remembered in SQLite and listed");
});

test("the diagram exports as SVG, PNG and Mermaid files through the native save dialog", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "berth-export-"));
  const size = await js(`const s = document.querySelector("svg.diagram"); return [Number(s.dataset.contentW), Number(s.dataset.contentH)]`);
  for (const [button, file] of [["#btn-export-svg", "d.svg"], ["#btn-export-png", "d.png"], ["#btn-export-mermaid", "d.mmd"]]) {
    await click(button);
    await saveAs("Export diagram", path.join(out, file));
    await until(`${file} written`, async () => fs.existsSync(path.join(out, file)), 20_000);
  }
  const svg = fs.readFileSync(path.join(out, "d.svg"), "utf8");
  assert.match(svg, /^<svg/);
  assert.ok(svg.includes('data-service="nginx"'), "the SVG holds the nodes");
  assert.match(svg, /<rect[^>]* fill="rgb\(/, "colours travel with the file, not with the page's stylesheet");
  const png = fs.readFileSync(path.join(out, "d.png"));
  assert.equal(png.subarray(1, 4).toString(), "PNG", "a PNG file");
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], size.map((v) => Math.ceil(v * 2)), "drawn at twice the diagram's size");
  const mermaid = fs.readFileSync(path.join(out, "d.mmd"), "utf8");
  assert.match(mermaid, /^flowchart LR/);
  assert.match(mermaid, /svc_nginx -->\|depends_on, proxy_pass\| svc_app/);
  assert.deepEqual(fs.readdirSync(out).sort(), ["d.mmd", "d.png", "d.svg"], "no partial files left behind");
});

test("a dragged node stays where it was put, in SQLite, until Auto layout", async () => {
  const where = () => js(`const g = document.querySelector('g.service[data-service="redis"]'); return [Number(g.dataset.x), Number(g.dataset.y)]`);
  const edgeEnd = () => js(`const l = document.querySelector('g.edge[data-edge="svc:app>svc:redis"] line'); return [Number(l.getAttribute("x2")), Number(l.getAttribute("y2"))]`);
  // redis's volume is a chip under it, and goes where it goes.
  const chip = () => js(`const r = document.querySelector('g.volume[data-volume="redisdata"] rect'); return r ? [Number(r.getAttribute("x")), Number(r.getAttribute("y"))] : null`);
  const [x0, y0] = await where();
  const [ex0, ey0] = await edgeEnd();
  const c0 = await chip();
  assert.ok(c0 && Math.abs(c0[0] - x0) < 0.01 && c0[1] > y0 + 54, `redis's volume is drawn right under it: ${c0} for redis at ${[x0, y0]}`);
  // The diagram is fitted to the canvas: a pointer's pixels are diagram units over the zoom
  // at the time of the drag (the view may fit again after it, as the toolbar changes).
  const k = await js(`return Number(document.querySelector("svg.diagram").dataset.scale)`);
  assert.equal(await js(`return document.querySelector("svg.diagram").dataset.layoutSource`), "elk", "a fresh profile lays the stack out");
  await js(`const g = document.querySelector('g.service[data-service="redis"]');
    const r = g.querySelector("rect").getBoundingClientRect();
    const at = (type, dx, dy) => g.dispatchEvent(new PointerEvent(type, { bubbles: true, clientX: r.x + 10 + dx, clientY: r.y + 10 + dy, pointerId: 1, button: 0, isPrimary: true }));
    at("pointerdown", 0, 0); at("pointermove", 30, 40); at("pointermove", 60, 90); at("pointerup", 60, 90);`);
  const near = (a, b) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 0.01);
  const [mx, my] = [60 / k, 90 / k];
  assert.ok(near(await where(), [x0 + mx, y0 + my]), `the node follows the pointer: ${await where()} vs ${[x0 + mx, y0 + my]}`);
  assert.ok(near(await chip(), [c0[0] + mx, c0[1] + my]), `its volume chip moves with it: ${await chip()} from ${c0}`);
  const [ex1, ey1] = await edgeEnd();
  const onBorder = (x, y, [bx, by]) => x >= bx - 0.01 && x <= bx + 170.01 && y >= by - 0.01 && y <= by + 54.01 &&
    [Math.abs(x - bx), Math.abs(x - bx - 170), Math.abs(y - by), Math.abs(y - by - 54)].some((d) => d < 0.01);
  assert.ok(onBorder(ex0, ey0, [x0, y0]), `the edge ended on redis's border before (${ex0},${ey0})`);
  assert.ok(onBorder(ex1, ey1, [x0 + mx, y0 + my]), `its edges follow it to its new border (${ex1},${ey1})`);
  assert.equal(await js(`return !!document.getElementById("service-panel")`), false, "a drag is not a click");
  // Reopen the stack: the layout is computed again and the saved place wins.
  await click(`#recent-stacks li[data-path="${stackDir}"] button`);
  await sleep(500);
  await until("the saved place after reopening", async () => {
    const p = await where();
    return near(p, [x0 + mx, y0 + my]) ? p : false;
  });
  assert.equal(await js(`return document.querySelector("svg.diagram").dataset.layoutSource`), "saved", "the unchanged graph is drawn from the layout kept in SQLite");
  // Every frame's place of redis from the click on, read in the window: Auto layout moves it
  // back over several frames rather than in one jump.
  await js(`window.__path = []; const t0 = performance.now();
    const tick = () => { const g = document.querySelector('g.service[data-service="redis"]');
      if (g) window.__path.push([Number(g.dataset.x), Number(g.dataset.y), document.querySelector("svg.diagram").dataset.moving]);
      if (performance.now() - t0 < 4000) requestAnimationFrame(tick); };
    requestAnimationFrame(tick); return true;`);
  await click("#btn-auto-layout");
  await until("back to the automatic layout", async () => {
    const p = await where();
    return near(p, [x0, y0]) ? p : false;
  });
  await sleep(4200);
  const path_ = await js(`return window.__path`);
  const dist = ([x, y]) => Math.hypot(x - x0, y - y0);
  const full = Math.hypot(mx, my);
  const between = path_.filter((p) => dist(p) > 2 && dist(p) < full - 2);
  assert.ok(between.length >= 3, `redis passed through places between where it was dragged and its layout place (${between.length} frames in between of ${path_.length}: ${JSON.stringify(path_.slice(0, 40))})`);
  assert.ok(path_.some((p) => p[2] === "true"), "the diagram says it is moving while it moves");
  const approach = path_.map(dist).filter((d, i, a) => i === 0 || d !== a[i - 1]);
  assert.ok(approach.every((d, i) => i === 0 || d <= approach[i - 1] + 0.01), `it moves steadily towards its place, never back: ${approach.map((d) => d.toFixed(1)).join(" ")}`);
  assert.equal(path_.at(-1)[2], "false", "and the move ends");
});

test("a stack whose compose file changed is laid out anew, not drawn from its old layout", async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "berth-e2e-layout-")), "layoutcache");
  fs.mkdirSync(dir);
  const file = path.join(dir, "compose.yaml");
  fs.writeFileSync(file, "services:\n  web:\n    image: berth-fixture/nginx:1\n");
  const openIt = async (services) => {
    await type("#stack-path", dir);
    await click("form button[type=submit]");
    await until(`${services} services drawn`, async () => (await js(`return document.querySelectorAll("g.service").length`)) === services);
    await sleep(300);
    return js(`return document.querySelector("svg.diagram").dataset.layoutSource`);
  };
  try {
    assert.equal(await openIt(1), "elk", "first open");
    // ELK's worker ends once the layout is done: the next layout starts a new one.
    await until("ELK's worker ended after the layout", async () => (await js(`return document.querySelector("svg.diagram").dataset.elk`)) === "ended", 15_000);
    await click(`#recent-stacks li[data-path="${stackDir}"] button`);
    await until("the demo again", async () => (await js(`return document.querySelectorAll("g.service").length`)) === 4);
    assert.equal(await openIt(1), "saved", "unchanged: the kept layout");
    fs.appendFileSync(file, "  cache:\n    image: berth-fixture/redis:1\n");
    await click(`#recent-stacks li[data-path="${stackDir}"] button`);
    await until("the demo again", async () => (await js(`return document.querySelectorAll("g.service").length`)) === 4);
    assert.equal(await openIt(2), "elk", "a new service means a new layout");
    const drawn = await js(`return [...document.querySelectorAll("g.service")].map(g => g.dataset.service).sort()`);
    assert.deepEqual(drawn, ["cache", "web"], "and it shows the new service");
  } finally {
    await click(`#recent-stacks li[data-path="${stackDir}"] button`);
    await until("back on the demo", async () => (await js(`return document.querySelectorAll("g.service").length`)) === 4);
    await click(`#recent-stacks li[data-path="${dir}"] button.remove`);
    await until("the scratch stack off the list", async () => !(await js(`return !!document.querySelector('#recent-stacks li[data-path="${dir}"]')`)));
  }
});

test("an edit of the compose file redraws the open diagram; a broken edit names its place and keeps the picture", async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "berth-e2e-live-")), "liveedit");
  fs.mkdirSync(dir);
  const file = path.join(dir, "compose.yaml");
  const one = "services:\n  web:\n    image: berth-fixture/nginx:1\n";
  fs.writeFileSync(file, one);
  const drawn = () => js(`return [...document.querySelectorAll("g.service")].map(g => g.dataset.service).sort()`);
  try {
    await type("#stack-path", dir);
    await click("form button[type=submit]");
    await until("the one service drawn", async () => (await drawn()).length === 1);
    // Nothing is clicked from here on: the session watches the file.
    fs.writeFileSync(file, one + "  cache:\n    image: berth-fixture/redis:1\n");
    await until("the new service appears by itself", async () => JSON.stringify(await drawn()) === JSON.stringify(["cache", "web"]), 10_000);
    fs.writeFileSync(file, "services:\n  web:\n    image: [unclosed\n");
    const banner = await until("the broken edit is reported", async () => js(`return document.querySelector(".banner.error")?.textContent`), 10_000);
    assert.match(banner, /compose\.yaml:\d+:\d+: /, `file, line and column: ${banner}`);
    assert.deepEqual(await drawn(), ["cache", "web"], "the last good picture stays on screen");
    fs.writeFileSync(file, one);
    await until("fixed: the error goes and the picture follows", async () =>
      !(await js(`return !!document.querySelector(".banner.error")`)) && (await drawn()).length === 1, 10_000);
  } finally {
    await click(`#recent-stacks li[data-path="${stackDir}"] button`);
    await until("back on the demo", async () => (await js(`return document.querySelectorAll("g.service").length`)) === 4);
    await click(`#recent-stacks li[data-path="${dir}"] button.remove`);
    await until("the scratch stack off the list", async () => !(await js(`return !!document.querySelector('#recent-stacks li[data-path="${dir}"]')`)));
  }
});

// Geometry of the drawn diagram, read from the real window: overlapping boxes, badges and group
// labels, text wider than its box, anything outside the view, and edge crossings.
const LAYOUT_QUALITY = `
  const view = document.querySelector("svg.diagram").getBoundingClientRect();
  const take = (sel, kind) => [...document.querySelectorAll(sel)].map(e => ({ kind, r: e.getBoundingClientRect() }));
  const items = [...take("g.service > rect", "node"), ...take("g.badge rect", "badge"), ...take("g.network > text", "group label"),
    ...take("g.port rect", "port"), ...take("g.volume rect", "volume")];
  const hit = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  const overlaps = [];
  for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) if (hit(items[i].r, items[j].r)) overlaps.push(items[i].kind + "/" + items[j].kind);
  let overflow = 0;
  for (const g of document.querySelectorAll("g.service")) {
    const box = g.querySelector("rect").getBoundingClientRect(), t = g.querySelector("text.name").getBoundingClientRect();
    if (t.right > box.right + 0.5) overflow++;
  }
  const outside = items.filter(({ r }) => r.left < view.left - 1 || r.top < view.top - 1 || r.right > view.right + 1 || r.bottom > view.bottom + 1).length;
  // Each drawn edge as a polyline (one straight segment), and the graph it draws: every box with
  // its size and every edge by its ends, for ELK's own layout of the same graph.
  const drawn = [...document.querySelectorAll("g.edge > line:not(.hit)")].map(l => [[+l.getAttribute("x1"), +l.getAttribute("y1")], [+l.getAttribute("x2"), +l.getAttribute("y2")]]);
  const nodes = [...document.querySelectorAll("[data-box]")].map(g => { const r = g.querySelector("rect"); return { id: g.dataset.box, width: +r.getAttribute("width"), height: +r.getAttribute("height") }; });
  const edges = [...document.querySelectorAll("g.edge")].map(g => g.dataset.edge.split(">"));
  const scale = +document.querySelector("svg.diagram").dataset.scale;
  return { items: items.length, overlaps, overflow, outside, drawn, nodes, edges, scale };`;

// Crossings between polylines: two segments of different edges that properly cross (ends that
// meet at a shared box are not a crossing; a segment along another is not either).
function crossings(polylines) {
  const d = (a, b, c) => (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
  const cross = ([a, b], [c, e]) => {
    if ([a, b].some((x) => [c, e].some((y) => Math.hypot(x[0] - y[0], x[1] - y[1]) < 1))) return false;
    return d(a, b, c) * d(a, b, e) < 0 && d(c, e, a) * d(c, e, b) < 0;
  };
  const segs = polylines.flatMap((pts, edge) => pts.slice(1).map((p, i) => ({ edge, s: [pts[i], p] })));
  let n = 0;
  for (let i = 0; i < segs.length; i++) for (let j = i + 1; j < segs.length; j++) if (segs[i].edge !== segs[j].edge && cross(segs[i].s, segs[j].s)) n++;
  return n;
}

// ELK's own layered layout of the same boxes and edges (no tiers, its own edge routing): the
// crossings a plain ELK drawing of this stack has.
async function elkCrossings({ nodes, edges }) {
  const out = await new ELK().layout({
    id: "root",
    layoutOptions: { "elk.algorithm": "layered", "elk.direction": "RIGHT" },
    children: nodes,
    edges: edges.map(([from, to], i) => ({ id: `e${i}`, sources: [from], targets: [to] })),
  });
  return crossings(out.edges.map((e) => e.sections.flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => [p.x, p.y]))));
}

test("layout quality on every seed stack: no overlaps, nothing overflows or leaves the view; no more crossings than ELK's own layout", async () => {
  const seeds = [["luminai", "luminai"], ["functionalfit", "functionalfit/infra"], ["primehub", "primehub"], ["orchesity", "orchesity"], ["fintrack", "fintrack"]];
  const results = {};
  try {
    for (const [name, sub] of seeds) {
      const dir = path.join(REPO, "tests/fixtures", sub);
      await type("#stack-path", dir);
      await click("form button[type=submit]");
      await until(`${name} drawn`, async () => (await js(`return document.querySelector(".stack-name")?.dataset.project`)) && (await js(`return document.querySelectorAll("g.service").length`)) > 0 && (await js(`return document.querySelector("svg.diagram").dataset.layoutSource`)) !== "" && (await js(`return document.querySelector("svg.diagram").dataset.badges`)) === "ready");
      await sleep(600);
      const r = await js(LAYOUT_QUALITY);
      r.crossings = crossings(r.drawn);
      r.elk = await elkCrossings(r);
      results[name] = r;
      console.log(`layout ${name}: ${r.items} boxes, ${r.overlaps.length} overlaps (${r.overlaps.join(" ")}), ${r.overflow} overflowing names, ${r.outside} outside the view, ${r.crossings} edge crossings (ELK's own layered layout of the same ${r.nodes.length} nodes and ${r.edges.length} edges: ${r.elk}); fitted at ${r.scale.toFixed(2)}×`);
      if (name === "functionalfit") await shot("functionalfit");
    }
  } finally {
    await click(`#recent-stacks li[data-path="${stackDir}"] button`);
    await until("back on the demo", async () => (await js(`return document.querySelectorAll("g.service").length`)) === 4);
    for (const [, sub] of seeds) {
      const dir = path.join(REPO, "tests/fixtures", sub);
      if (await js(`return !!document.querySelector('#recent-stacks li[data-path="${dir}"] button.remove')`)) await click(`#recent-stacks li[data-path="${dir}"] button.remove`);
    }
  }
  for (const [name, r] of Object.entries(results)) {
    assert.equal(r.overflow, 0, `${name}: a service name wider than its box`);
    assert.equal(r.outside, 0, `${name}: after fit everything is in view`);
    assert.deepEqual(r.overlaps, [], `${name}: no two of node boxes, edge badges, group labels, ports and volumes overlap`);
    assert.ok(r.edges.length > 0 && r.nodes.length > r.edges.length / 4, `${name}: the graph read from the drawing has its edges and boxes (${r.nodes.length} boxes, ${r.edges.length} edges)`);
    assert.ok(r.crossings <= r.elk, `${name}: the drawing crosses edges ${r.crossings} times, more than ELK's own layered layout of the same graph (${r.elk})`);
  }
});

test("a broken stack reads as a sentence naming the place and the fix, and the app carries on", async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "berth-e2e-bad-"));
  const broken = path.join(base, "broken");
  const empty = path.join(base, "empty");
  fs.mkdirSync(broken);
  fs.mkdirSync(empty);
  fs.writeFileSync(path.join(broken, "compose.yaml"), "services:\n  web:\n    image: [unclosed\n");
  const banner = async (dir) => {
    await type("#stack-path", dir);
    await click("form button[type=submit]");
    return until(`the error for ${dir}`, async () => js(`return document.querySelector(".banner.error")?.textContent`));
  };
  try {
    const yaml = await banner(broken);
    assert.match(yaml, /compose\.yaml:\d+:\d+: .*expected/, `file, line and column of the YAML error: ${yaml}`);
    const none = await banner(empty);
    assert.match(none, /no compose file found in .*empty.*open the folder that holds one/, `what is wrong and what to do: ${none}`);
    for (const text of [yaml, none]) assert.doesNotMatch(text, /[{}]|"code"|panicked|at src\//, "no JSON or stack trace");
  } finally {
    await click(`#recent-stacks li[data-path="${stackDir}"] button`);
    await until("the demo again, without the error", async () =>
      (await js(`return document.querySelectorAll("g.service").length`)) === 4 && !(await js(`return !!document.querySelector(".banner.error")`)));
  }
});

test("Up with a host port taken asks first: the dialog names the process, the diagram marks the entry point, Use the suggested port and Up goes on to green", async () => {
  // A program of this machine on nginx's port, as a developer's own server would be.
  const holder = spawn("python3", ["-c", "import socket,time; s=socket.socket(); s.bind(('127.0.0.1', 18543)); s.listen(); print('ready', flush=True); time.sleep(600)"], { stdio: ["ignore", "pipe", "ignore"] });
  try {
    await new Promise((resolve) => holder.stdout.once("data", resolve));
    await click("#btn-up");
    const item = '#port-preflight li[data-service="nginx"]';
    const said = await until("the pre-flight dialog with nginx's port taken", async () =>
      js(`return document.querySelector(arguments[0] + " .sentence")?.textContent ?? false`, item), 60_000);
    assert.match(said, new RegExp(`python3 \\(PID ${holder.pid}`), `the owner is named with its PID: ${said}`);
    assert.equal(await js(`return document.querySelectorAll("g.service.absent").length`), 4, "nothing was started");
    const use = await js(`return document.querySelector(arguments[0] + " .use-port").textContent.trim()`, item);
    assert.equal(use, "Use 18544", "the next free port is offered");
    assert.ok(await js(`return !!document.querySelector(arguments[0] + " .copy-stop")`, item), "a host process gets its stop command to copy, never a kill");
    const mark = await until("the diagram's entry point marked taken", async () =>
      js(`return document.querySelector('g.port[data-port-entry="nginx:18543"]')?.dataset.conflict ?? false`), 20_000);
    assert.equal(mark, "taken");
    await shot("ports-preflight");
    await click(`${item} .use-port`);
    // The dialog checks again, closes once nothing is in the way, and Up goes on by itself.
    const left = await until("the dialog closed after the fix", async () =>
      js(`const d = document.getElementById("port-preflight"); return d ? false : "closed"`), 30_000).catch(async (e) => {
      throw new Error(`${e.message}; the dialog says: ${await js(`return document.getElementById("port-preflight")?.textContent`)}`);
    });
    assert.equal(left, "closed");
    await until("all green on the new port", async () => {
      const s = await statuses();
      return Object.values(s).length === 4 && Object.values(s).every((v) => v === "good") ? s : false;
    }, 180_000);
    assert.equal(await js(`return !!document.getElementById("port-preflight")`), false, "the dialog closed");
    const bound = execFileSync("docker", ["compose", "-p", project, "--project-directory", stackDir, "port", "nginx", "443"], { encoding: "utf8" }).trim();
    assert.equal(bound, "127.0.0.1:18544", "compose was given Berth's override");
    await until("the entry point no longer marked", async () =>
      !(await js(`return !!document.querySelector('g.port.conflict')`)), 20_000);
    await click("#nav-ports");
    await until("nginx on 18544, this stack's own", async () =>
      js(`const r = document.querySelector('#ports-table tr[data-service="nginx"]'); return r?.dataset.port === "18544" && r.dataset.status === "ours"`), 20_000);
    assert.match(await js(`return document.getElementById("ports-override").textContent`), /published: "18544"/, "the override is shown");
    await shot("ports-remapped");
  } finally {
    holder.kill();
  }
  // Back to the file's port for the tests after this one (the next Up recreates nginx on it).
  await click("#nav-ports");
  await until("the undo button", async () => js(`return !!document.querySelector('#ports-table tr[data-service="nginx"] .undo-remap')`), 20_000);
  await click('#ports-table tr[data-service="nginx"] .undo-remap');
  await until("nginx's port as the file says", async () =>
    js(`return document.querySelector('#ports-table tr[data-service="nginx"]')?.dataset.port === "18543"`), 20_000);
  await click("#nav-overview");
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
  const engine = await js(`return document.getElementById("engine-endpoint")?.textContent`);
  assert.match(engine ?? "", /docker\.sock/, `the sidebar says which engine the stack is on: ${engine}`);
  await shot("stack-running");
});

test("a published port opens in the browser from the service panel", async () => {
  const log = process.env.BERTH_E2E_BROWSER_LOG;
  assert.ok(log, "the harness records what the browser was asked to open");
  fs.writeFileSync(log, "");
  await clickNode("nginx");
  await until("the nginx panel", async () => (await js(`return document.getElementById("service-panel")?.dataset.service`)) === "nginx");
  await until("its port", async () => js(`return !!document.querySelector('.port-link[data-port="18543"]')`));
  await click('.port-link[data-port="18543"]');
  const opened = await until("the browser asked", async () => fs.readFileSync(log, "utf8").trim());
  assert.equal(opened, "https://localhost:18543/", "container port 443 opens as https on the published host port");
  // The browser may be asked before the window hears back from the command: wait for the notice.
  const notice = await until("the notice", async () => js(`return document.getElementById("notice")?.textContent ?? false`));
  assert.match(notice, /Opened https:\/\/localhost:18543\//);
  await clickNode("nginx");
  await until("the panel closed", async () => !(await js(`return !!document.getElementById("service-panel")`)));
});

// The text a terminal tab shows, row by row (xterm's DOM renderer draws rows as elements).
const terminalText = (key) => js(`return [...document.querySelectorAll('.term-host[data-key="' + arguments[0] + '"] .xterm-rows > div')].map(r => r.textContent.trimEnd()).join("\\n")`, key);
// Keys sent while xterm is still taking its focus can be lost: type again while the answer has not come.
// Every try is a whole line, so a lost one leaves nothing half-typed behind.
async function typeUntil(key, line, seen, what) {
  let polls = 0;
  let text = "";
  await until(what, async () => {
    text = await terminalText(key);
    if (seen(text)) return true;
    if (polls++ % 8 === 0) await app.send(`.term-host[data-key="${key}"] .xterm-helper-textarea`, `${line}\uE007`);
    return false;
  }, 15_000);
  return text;
}
const currentTerminal = () => js(`return document.querySelector('.term-host:not([hidden])')?.dataset.key ?? null`);

test("Certificates: the self-signed certificate is named as such, Make HTTPS trusted asks consent, then every step ends verified and trusted; Untrust takes it back", async () => {
  await click("#nav-certificates");
  const row = '#certs-table tr[data-service="nginx"]:not(.problem-row)';
  const before = await until("nginx's endpoint", async () => js(`return document.querySelector(arguments[0])?.dataset.state ?? false`, row), 30_000);
  assert.ok(["untrusted", "mismatch"].includes(before), `openssl's self-signed certificate is not trusted: ${before}`);
  assert.match(await js(`return document.querySelector('#certs-table tr.problem-row[data-service="nginx"]').textContent`), /not issued by Berth|does not cover/, "the reason is said");
  // An action still running (the Up before this test recreating nginx) would make the restart
  // step refuse with "Up is still running": wait until the stack is idle.
  await until("no action running", async () => !(await js(`return !!document.getElementById("btn-cancel")`)), 180_000);
  await click("#btn-make-https");
  await until("the consent dialog", async () => js(`return !!document.getElementById("tls-consent")`));
  assert.match(await js(`return document.getElementById("tls-consent").textContent`), /Chromium/, "the stores are named before anything changes");
  // The browsers' databases only: the CLI tests cover the machine's system store.
  if (await js(`return document.getElementById("consent-system").checked`)) await click("#consent-system");
  await click("#consent-ok");
  await until("every step, verified", async () =>
    js(`return !!document.querySelector('#certs-steps li[data-step="verify"][data-status="ok"]')`), 120_000).catch(async (e) => {
    throw new Error(`${e.message}; steps: ${await js(`return document.getElementById("certs-steps")?.textContent`)}`);
  });
  for (const step of ["trust", "ca", "find", "write", "restart"]) {
    assert.equal(await js(`return document.querySelector('#certs-steps li[data-step="${step}"]')?.dataset.status`), "ok", `the ${step} step is reported done`);
  }
  const after = await until("nginx trusted and verified", async () =>
    js(`const r = document.querySelector(arguments[0]); return r && r.dataset.state === "trusted" && r.dataset.verified === "true" ? r.textContent : false`, row), 30_000);
  assert.match(after, /localhost, 127\.0\.0\.1, ::1/, "the names it covers");
  assert.match(await js(`return document.getElementById("certs-trusted-by").textContent`), /Chromium/);
  await shot("certificates-trusted");
  const log = process.env.BERTH_E2E_BROWSER_LOG;
  fs.writeFileSync(log, "");
  await click(`${row} .open-https`);
  assert.equal(await until("the browser asked", async () => fs.readFileSync(log, "utf8").trim()), "https://localhost:18543/", "the verified address opens");
  await click("#btn-untrust");
  await until("trusted by no store again", async () =>
    js(`return document.querySelector(arguments[0])?.dataset.state === "untrusted"`, row), 30_000);
  await until("the stack green again after nginx's restart", async () => {
    const s = await statuses();
    return Object.values(s).length === 4 && Object.values(s).every((v) => v === "good") ? s : false;
  }, 60_000);

  // nginx without its certificate cannot start: the window says so and offers the same button.
  for (const f of ["localhost.crt", "localhost.key"]) fs.rmSync(path.join(stackDir, "nginx/ssl", f));
  await click("#nav-overview");
  await until("no action running", async () => !(await js(`return !!document.getElementById("btn-cancel")`)), 180_000);
  await click("#btn-restart");
  const blocked = await until("the missing-certificate banner", async () => js(`return document.getElementById("tls-blocked")?.textContent ?? false`), 60_000);
  assert.match(blocked, /nginx cannot start/);
  await click("#btn-tls-fix");
  await until("the consent dialog, at once", async () => js(`return !!document.getElementById("tls-consent")`), 20_000);
  await click("#consent-skip");
  await until("issued, restarted and verified", async () =>
    js(`return !!document.querySelector('#certs-steps li[data-step="verify"][data-status="ok"]')`), 120_000).catch(async (e) => {
    throw new Error(`${e.message}; steps: ${await js(`return document.getElementById("certs-steps")?.textContent`)}`);
  });
  await until("the stack green with its new certificate", async () => {
    const s = await statuses();
    return Object.values(s).length === 4 && Object.values(s).every((v) => v === "good") ? s : false;
  }, 60_000);
  await click("#nav-overview");
  await until("no banner any more", async () => !(await js(`return !!document.getElementById("tls-blocked")`)), 20_000);
});

test("a terminal into a service: a shell in the container, tabs that survive switching views, close ends it", async () => {
  await js(`document.activeElement?.blur()`);
  await clickNode("app");
  await until("the app panel", async () => (await js(`return document.getElementById("service-panel")?.dataset.service`)) === "app");
  await click("#tab-terminal");
  await click("#svc-terminal");
  const first = await until("a terminal open in app", async () => js(`return document.querySelector('.term-host[data-service="app"][data-terminal]')?.dataset.key ?? false`), 20_000);
  assert.ok(await js(`return !document.getElementById("terminals-page").classList.contains("hidden")`), "opening a terminal shows the Terminal view");
  const tabTitle = await js(`return document.querySelector('.term-tab.current button[role=tab]').textContent`);
  assert.equal(tabTitle, "app · sh", "busybox has sh and no bash: the tab says which shell runs");
  // The shell's prompt first: keys typed before the exec stream is attached are lost.
  await until("the shell's prompt", async () => /[#$] ?$/m.test(await terminalText(first)), 15_000);
  const out = await typeUntil(first, "echo $((6*7))", (t) => t.split("\n").some((l) => l.trim() === "42"), "42 from the container");
  assert.match(out, /echo \$\(\(6\*7\)\)/, "the command echoed as typed");
  // Every style xterm made is in force: the CSP let them in through the page's nonce.
  const blocked = await js(`return [...document.querySelectorAll("style")].filter(s => !s.sheet || !s.sheet.cssRules.length).length`);
  assert.equal(blocked, 0, "no <style> element was refused by the CSP");
  await shot("terminal");

  // Another view and back: the same shell, still running.
  await click("#nav-overview");
  await sleep(300);
  await click("#nav-terminal");
  await until("the same terminal shown again", async () => (await currentTerminal()) === first);
  await typeUntil(first, "echo still-$((40+2))", (t) => t.includes("still-42"), "the shell survived the switch");

  // A second tab in another service, then closing it leaves the first.
  await js(`const s = document.getElementById("term-service"); s.value = "database"; s.dispatchEvent(new Event("change", { bubbles: true })); return true;`);
  await click("#btn-term-open");
  const second = await until("a terminal in database", async () => js(`return document.querySelector('.term-host[data-service="database"][data-terminal]')?.dataset.key ?? false`), 20_000);
  assert.equal(await currentTerminal(), second, "the new tab is shown");
  assert.equal(await js(`return document.querySelectorAll(".term-tab").length`), 2, "two tabs");
  const dbContainer = containerOf("database");
  const shells = () => execFileSync("docker", ["top", dbContainer, "-o", "pid,args"], { encoding: "utf8" }).split("\n").filter((l) => /^\s*\d+\s+(ba)?sh$/.test(l)).length;
  await until("the database terminal's shell runs", async () => shells() === 1, 10_000);
  await click(`.term-tab.current button.close`);
  assert.equal(await js(`return document.querySelectorAll(".term-tab").length`), 1, "one tab left");
  assert.equal(await currentTerminal(), first, "the first terminal is shown again");
  await until("the closed terminal's shell ended", async () => shells() === 0, 10_000);
  await click("#nav-overview");
  await js(`document.activeElement?.blur()`);
  await clickNode("app");
  await until("the panel closed", async () => !(await js(`return !!document.getElementById("service-panel")`)));
});

test("keyboard: Ctrl+F finds in the logs, Escape closes the service panel, arrows move through the diagram's nodes and Enter opens one", async () => {
  await click("#nav-overview");
  await js(`document.activeElement?.blur()`);
  await app.keys("\uE009", "f");
  assert.equal(await js(`return document.activeElement?.id`), "log-filter", "Ctrl+F puts the cursor in the log filter");
  // Typing in a field, a shortcut is text: Ctrl+D inside the log filter must not take the stack down.
  await app.keys("\uE009", "d");
  await sleep(1500);
  assert.equal(await js(`return !!document.querySelector(".busy")`), false, "no action started from inside a text field");
  assert.match(await js(`return document.getElementById("summary").textContent`), /4 running/);
  await js(`document.activeElement?.blur()`);
  await clickNode("app");
  await until("the app panel", async () => (await js(`return document.getElementById("service-panel")?.dataset.service`)) === "app");
  await app.keys("\uE00C");
  await until("the panel closed by Escape", async () => !(await js(`return !!document.getElementById("service-panel")`)));
  // Through the diagram by keys: the leftmost node focused, → moves to a node to its right, and
  // Enter opens that one's panel.
  const first = await js(`const gs = [...document.querySelectorAll("g.service")].sort((a, b) => a.dataset.x - b.dataset.x);
    gs[0].focus(); return { name: gs[0].dataset.service, x: Number(gs[0].dataset.x) }`);
  assert.equal(await js(`return document.activeElement?.dataset?.service`), first.name, "a node takes the focus");
  await app.keys("\uE014");
  const next = await js(`const g = document.activeElement; return g?.matches("g.service") ? { name: g.dataset.service, x: Number(g.dataset.x) } : null`);
  assert.ok(next && next.name !== first.name && next.x > first.x, `→ moved the focus to a node on the right of ${first.name}: ${JSON.stringify(next)}`);
  await app.keys("\uE007");
  await until(`${next.name}'s panel from Enter`, async () => (await js(`return document.getElementById("service-panel")?.dataset.service`)) === next.name);
  await app.keys("\uE00C");
  await until("closed again", async () => !(await js(`return !!document.getElementById("service-panel")`)));
});

test("the Services view, the command palette, and a question before deleting volumes", async () => {
  await js(`document.activeElement?.blur()`);
  await click("#nav-services");
  const rows = await until("the services table", async () =>
    js(`return [...document.querySelectorAll("#services-table tbody tr")].map(r => [r.dataset.service, r.querySelector(".pill").dataset.state])`).then((r) => (r.length === 4 ? r : false)));
  assert.deepEqual(Object.fromEntries(rows), { app: "running", database: "running", nginx: "running", redis: "running" });
  const ports = await js(`return document.querySelector('#services-table tr[data-service="nginx"]').textContent`);
  assert.match(ports, /127\.0\.0\.1:\d+→443/, "ports as the diagram labels them");
  // CPU and memory from the engine's stats, summed per service in Rust, while the table shows.
  const usage = await until("CPU and memory of every service", async () => {
    const u = await js(`return [...document.querySelectorAll("#services-table tbody tr")].map(r => [r.dataset.service, +r.querySelector("[data-mem]").dataset.mem, r.querySelector("[data-cpu]").textContent])`);
    return u.every(([, mem]) => mem > 0) ? u : false;
  }, 20_000);
  for (const [svc, mem, cpu] of usage) {
    assert.ok(mem > 100_000 && mem < 2 ** 31, `${svc} uses a plausible amount of memory: ${mem}`);
    assert.match(cpu, /^\d+\.\d %$/, `${svc}'s CPU reads as a percentage: ${cpu}`);
  }
  await shot("services-table");
  await click('#services-table tr[data-service="redis"] button');
  await until("redis selected from the table", async () => (await js(`return document.getElementById("service-panel")?.dataset.service`)) === "redis");
  await app.keys("\uE00C");
  // Ctrl+K: the palette finds commands by words of their names.
  await app.keys("\uE009", "k");
  await until("the palette", async () => js(`return document.activeElement?.closest("#palette") != null`));
  await type("#palette input", "go to logs");
  await app.keys("\uE007");
  await until("the Logs view", async () => (await js(`return document.getElementById("nav-logs").getAttribute("aria-current")`)) === "page");
  assert.equal(await js(`return !!document.getElementById("palette")`), false, "the palette closes after running");
  await click("#nav-overview");
  // Deleting volumes asks first; Cancel leaves everything as it was.
  await app.keys("\uE009", "k");
  await until("the palette", async () => js(`return document.activeElement?.closest("#palette") != null`));
  await type("#palette input", "delete volumes");
  await app.keys("\uE007");
  const question = await until("the question", async () => js(`return document.getElementById("confirm")?.textContent`));
  assert.match(question, /pgdata.*redisdata|redisdata.*pgdata/, `it names the volumes that would go: ${question}`);
  assert.equal(await js(`return document.activeElement?.id`), "confirm-cancel", "the safe answer has the focus");
  await click("#confirm-cancel");
  await sleep(800);
  assert.equal(await js(`return !!document.querySelector(".busy")`), false, "nothing ran");
  assert.match(await js(`return document.getElementById("summary").textContent`), /4 running/);
});

test("a service whose settings changed in the files says it needs a recreate, and Recreate clears it", async () => {
  const file = path.join(stackDir, "docker-compose.yml");
  const before = fs.readFileSync(file, "utf8");
  const edited = before.replace("command: redis-server --maxmemory 64mb", "command: redis-server --maxmemory 96mb");
  assert.notEqual(edited, before, "the demo's redis command is where the test expects it");
  try {
    await click("#nav-services");
    fs.writeFileSync(file, edited);
    const drift = await until("redis marked", async () => js(`return document.querySelector('#services-table tr[data-service="redis"] .drift-pill')?.dataset.drift ?? false`), 20_000);
    assert.equal(drift, "config", "the config hash no longer matches");
    assert.equal(await js(`return document.querySelectorAll("#services-table .drift-pill").length`), 1, "only redis changed");
    assert.equal(await js(`return document.querySelector('g.service[data-service="redis"] .drift-mark')?.dataset.drift ?? null`), "config", "the diagram marks the node too");
    await click('#services-table button.recreate[data-service="redis"]');
    await until("redis recreated and the mark gone", async () =>
      js(`return !document.querySelector('#services-table tr[data-service="redis"] .drift-pill') && document.querySelector('#services-table tr[data-service="redis"] .pill').dataset.state === "running"`), 60_000);
    const id = containerOf("redis");
    const cmd = execFileSync("docker", ["inspect", "--format", "{{json .Config.Cmd}}", id], { encoding: "utf8" });
    assert.match(cmd, /96mb/, `the new container runs the edited command: ${cmd}`);
  } finally {
    fs.writeFileSync(file, before);
  }
  // Back to the files as they were: redis drifts again; Recreate makes it match.
  await until("redis marked again", async () => js(`return !!document.querySelector('#services-table tr[data-service="redis"] .drift-pill')`), 20_000);
  await click('#services-table button.recreate[data-service="redis"]');
  await until("all four running and unmarked", async () =>
    js(`return document.querySelectorAll("#services-table .drift-pill").length === 0 && [...document.querySelectorAll("#services-table tbody .pill[data-state]")].every(p => p.dataset.state === "running")`), 60_000);
  await until("all green again", async () => Object.values(await statuses()).every((v) => v === "good"), 60_000);
  await click("#nav-overview");
});

test("accessibility: axe-core finds no serious or critical violation on each main screen", async () => {
  const found = {};
  for (const page of ["overview", "services", "checks", "ports", "certificates", "logs"]) {
    await click(`#nav-${page}`);
    await sleep(300);
    found[page] = await axeProblems();
  }
  await click("#nav-overview");
  await clickNode("app");
  await until("the app panel", async () => !!(await js(`return document.getElementById("service-panel")`)));
  found.panel = await axeProblems();
  await js(`document.activeElement?.blur()`);
  await app.keys("\uE00C");
  for (const [page, problems] of Object.entries(found)) assert.deepEqual(problems, [], `${page}: ${problems.join("\n")}`);
});

test("the service drawer: Logs, Environment and Inspect tabs, secrets masked until revealed, one value at a time", async () => {
  await js(`document.activeElement?.blur()`);
  await clickNode("database");
  await until("the database panel", async () => (await js(`return document.getElementById("service-panel")?.dataset.service`)) === "database");
  await click("#tab-inspect");
  const doc = await until("the inspect document", async () => js(`const t = document.getElementById("inspect-json")?.textContent; return t && t.includes('"Config"') ? t : false`));
  assert.ok(doc.includes("POSTGRES_PASSWORD=********"), "the password is masked by its name");
  assert.ok(!doc.includes("demo-secret"), "and appears nowhere else");
  await click("#inspect-reveal");
  await until("revealed on request", async () => js(`return document.getElementById("inspect-json").textContent.includes("POSTGRES_PASSWORD=demo-secret")`));
  await click("#tab-environment");
  const env = await until("the environment tab", async () => js(`return document.getElementById("tabpanel-environment")?.textContent`));
  assert.ok(!env.includes("demo-secret"), `environment masked: ${env}`);
  // One value revealed by itself: the others stay as they were, and it masks again.
  const row = (k) => js(`return document.querySelector('#tabpanel-environment tr[data-key="' + arguments[0] + '"] td.mono')?.textContent`, k);
  assert.equal(await js(`return [...document.querySelectorAll("#tabpanel-environment button.reveal-value")].map(b => b.dataset.key).join(",")`), "POSTGRES_PASSWORD", "only the masked value offers reveal");
  await click('#tabpanel-environment button.reveal-value[data-key="POSTGRES_PASSWORD"]');
  await until("the password revealed in its row", async () => (await row("POSTGRES_PASSWORD")) === "demo-secret");
  assert.equal(await row("POSTGRES_USER"), "demo", "the other rows unchanged");
  await click('#tabpanel-environment button.reveal-value[data-key="POSTGRES_PASSWORD"]');
  await until("masked again", async () => (await row("POSTGRES_PASSWORD")) === "********");
  // The Logs tab: this service's log view in the drawer, the one under the diagram steps aside.
  await click("#tab-logs");
  await until("database's logs in the drawer", async () => js(`return [...document.querySelectorAll("#tabpanel-logs .log-row")].some(r => r.textContent.includes("ready to accept connections"))`), 20_000);
  assert.equal(await js(`return document.querySelectorAll("#log-lines").length`), 1, "one log view at a time");
  assert.equal(await js(`return document.querySelector("#tabpanel-logs .logbar strong").textContent`), "Logs · database", "the drawer's logs are the service's");
  assert.ok(!(await js(`return [...document.querySelectorAll("#tabpanel-logs .log-row .svc")].some(s => s.textContent !== "database")`)), "and only that service's lines");
  // Through the Logs view and back: one log view at a time, and the drawer's still follows.
  await click("#nav-logs");
  await until("the full log view, alone", async () => js(`return document.querySelectorAll("#log-lines").length === 1 && !!document.querySelector(".log-host #log-lines")`));
  await click("#nav-overview");
  await until("the drawer's log view again", async () => js(`return document.querySelectorAll("#log-lines").length === 1 && !!document.querySelector("#tabpanel-logs #log-lines")`));
  const db = containerOf("database");
  // PostgreSQL writes a RAISE LOG to its server log, stderr (the computed 42 is only in that line).
  execFileSync("docker", ["exec", db, "psql", "-U", "demo", "-d", "demo", "-c", "DO $$ BEGIN RAISE LOG 'drawer-follows-%', 6*7; END $$"]);
  await until("a new line of database in the drawer", async () => js(`return [...document.querySelectorAll("#tabpanel-logs .log-row")].some(r => r.textContent.includes("drawer-follows-42"))`), 20_000);
  await click("#tab-overview");
  await until("the log view back under the diagram", async () => js(`return !!document.querySelector(".log-host #log-lines")`));
  await app.keys("\uE00C");
  await until("the panel closed", async () => !(await js(`return !!document.getElementById("service-panel")`)));
});

test("the diagram fits the view on open, zooms with buttons and keys, and Ctrl+0 fits it again", async () => {
  await js(`document.activeElement?.blur()`);
  const scale = () => js(`return Number(document.querySelector("svg.diagram").dataset.scale)`);
  const inside = () => js(`const s = document.querySelector("svg.diagram").getBoundingClientRect();
    return [...document.querySelectorAll("g.service rect, g.network rect, g.badges rect, g.port rect, g.volume rect")].every(e => {
      const r = e.getBoundingClientRect(); return r.left >= s.left - 1 && r.top >= s.top - 1 && r.right <= s.right + 1 && r.bottom <= s.bottom + 1; });`);
  const fitted = await scale();
  assert.ok(await inside(), "after fit everything is inside the view");
  await click("#btn-zoom-in");
  await until("zoomed in", async () => Math.abs((await scale()) - Math.min(4, fitted * 1.25)) < 1e-6);
  await app.keys("\uE009", "-");
  await until("zoomed out by the key", async () => Math.abs((await scale()) - fitted) < 1e-6);
  await click("#btn-zoom-in");
  await click("#btn-zoom-in");
  await app.keys("\uE009", "0");
  await until("Ctrl+0 fits again", async () => Math.abs((await scale()) - fitted) < 1e-6);
  assert.ok(await inside(), "and everything is in view again");
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
  assert.equal(await js(`return document.querySelector("#spark-mem .spark-value").textContent`), "–", "a stopped container shows no current memory, not its last sample");
  await shot("service-panel-stopped");
  // The stop action may still be finishing (buttons are disabled while an action runs).
  await until("actions enabled", async () => js(`return !document.getElementById("svc-start").disabled`), 30_000);
  await click("#svc-start");
  await until("redis green again", async () => (await statuses()).redis === "good", 60_000);
});

test("the logs view: filter with highlights, colours, times, pause on scroll, copy and export masked", async () => {
  await clickNode("app");
  const rowTexts = () => js(`return [...document.querySelectorAll("#log-lines .log-row")].map(d => d.textContent)`);
  await until("app log lines", async () => (await rowTexts()).some((t) => t.includes("response:200")), 30_000);

  appPrints(`printf '\\033[31mred-alert\\033[0m password=demo-secret\\n'`);
  const red = await until("the coloured line", async () =>
    js(`return [...document.querySelectorAll("#log-lines .log-row span.fg1")].map(s => s.textContent).join("|")`));
  assert.equal(red, "red-alert", "ANSI red becomes the red class, escape codes gone");
  const alert = (await rowTexts()).find((t) => t.includes("red-alert"));
  assert.ok(alert && !alert.includes("demo-secret") && alert.includes("password="), `the secret is masked: ${alert}`);

  await type("#log-filter", "response:200");
  await until("only matching rows", async () => {
    const rows = await rowTexts();
    return rows.length > 0 && rows.every((t) => t.includes("response:200")) ? rows : false;
  });
  const marks = await js(`return [...document.querySelectorAll("#log-lines .mark")].map(m => m.textContent)`);
  assert.ok(marks.length > 0 && marks.every((m) => m === "response:200"), `matches are highlighted: ${marks}`);
  await shot("logs-filtered");
  await click("#log-timestamps");
  const times = await until("times", async () => js(`const t = [...document.querySelectorAll("#log-lines .ts")].map(s => s.textContent); return t.length ? t : false`));
  assert.ok(times.every((t) => /^\d\d:\d\d:\d\d\.\d{3}$/.test(t)), `clock times: ${times}`);
  await click("#log-timestamps");
  await type("#log-filter", "x");
  await js(`const f = document.getElementById("log-filter"); f.value = ""; f.dispatchEvent(new Event("input", { bubbles: true }));`);

  // Many lines: the page keeps only the rows on screen.
  const before = Number(await js(`return document.getElementById("log-lines").dataset.total`));
  appPrints("seq 1 50000 | sed 's/^/bulk line /'");
  await until("50,000 more lines", async () => Number(await js(`return document.getElementById("log-lines").dataset.total`)) >= before + 50_000, 60_000);
  const dom = await js(`return document.querySelectorAll("#log-lines .log-row").length`);
  assert.ok(dom > 3 && dom < 100, `only visible rows are in the page (${dom})`);
  // The demo's health checks keep adding lines: "at the end" means the last row is the newest.
  const atEnd = async () => {
    const [last, total] = await js(`const e = document.getElementById("log-lines"); return [Number([...e.querySelectorAll(".log-row")].at(-1)?.dataset.seq), Number(e.dataset.total)]`);
    return last === total - 1;
  };
  await until("following shows the newest line", atEnd, 10_000);

  // Scrolled up, the view stays put while lines arrive, and offers to jump back.
  await js(`document.getElementById("log-lines").scrollTop = 0;`);
  await until("paused", async () => (await js(`return document.getElementById("log-lines").dataset.following`)) === "false");
  const top = await until("the oldest rows", async () => {
    const t = await rowTexts();
    return t.length && !t[0].includes("bulk line") ? t[0] : false;
  });
  appPrints("echo one more line");
  await until("new-lines button", async () => /\d new/.test(await js(`return document.getElementById("log-follow")?.textContent ?? ""`)));
  assert.equal((await rowTexts())[0], top, "the rows under the reader do not move");
  await click("#log-follow");
  await until("back at the end", atEnd);
  // The filter runs over everything kept, not just what was drawn.
  await type("#log-filter", "bulk line 50000");
  await until("the one matching line", async () => {
    const rows = await rowTexts();
    return rows.length === 1 && rows[0].endsWith("bulk line 50000") ? rows : false;
  });
  await js(`const f = document.getElementById("log-filter"); f.value = ""; f.dispatchEvent(new Event("input", { bubbles: true }));`);
  await until("the filter cleared", async () => Number(await js(`return document.getElementById("log-lines").dataset.total`)) > 50_000);

  await click("#log-copy");
  await until("copied", async () => (await js(`return document.getElementById("log-notice")?.textContent ?? ""`)).startsWith("Copied"));
  const clip = execFileSync("xclip", ["-o", "-selection", "clipboard"], { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.match(clip, /^app \| .*red-alert password=/m, "the clipboard holds the lines, without escape codes");
  assert.ok(!clip.includes("demo-secret"), "and without the secret");

  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "berth-logs-")), "app.log");
  await click("#log-export");
  await saveAs("Export logs", out);
  const text = await until("the exported file", async () => fs.existsSync(out) && fs.readFileSync(out, "utf8"), 20_000);
  assert.match(text, /^app \| bulk line 50000$/m);
  assert.ok(!text.includes("demo-secret"), "exported logs are masked");
});

test("Snapshots: a running stack's data saved, rows lost, restored from the catalog after a question naming what it replaces", async () => {
  const name = `berthsnap${process.pid}`;
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "berth-e2e-snap-")), name);
  fs.cpSync(path.join(REPO, "tests/fixtures/snapshots"), dir, { recursive: true });
  const compose = (...args) => execFileSync("docker", ["compose", "-p", name, "--project-directory", dir, ...args], { encoding: "utf8" }).trim();
  const psql = (sql) => compose("exec", "-T", "pg", "psql", "-U", "app", "-d", "shop", "-v", "ON_ERROR_STOP=1", "-Atc", sql);
  // A failure said by the window ends the wait at once, with its sentence.
  const noError = async () => {
    const e = await js(`return document.querySelector(".banner.error")?.textContent ?? document.getElementById("snap-refusal")?.textContent ?? null`);
    if (e) throw new Error(`the window says: ${e}`);
  };
  const idle = () => until("no action running", async () => !(await js(`return !!document.getElementById("btn-cancel") || !!document.getElementById("snap-progress")`)), 180_000);
  try {
    await click("#nav-overview");
    await type("#stack-path", dir);
    await click("form button[type=submit]");
    await until("the snapshots stack drawn", async () =>
      (await js(`return document.querySelector(".stack-name")?.dataset.project`)) === name && (await js(`return document.querySelectorAll("g.service").length`)) === 4, 30_000);
    await idle();
    await click("#btn-up");
    await until("all green", async () => {
      await noError();
      const s = await statuses();
      return Object.values(s).length === 4 && Object.values(s).every((v) => v === "good") ? s : false;
    }, 180_000);
    psql("create table items (id int primary key, name text); insert into items select g, 'item ' || g from generate_series(1, 500) g;");
    assert.equal(psql("select count(*) from items"), "500", "seeded");

    await click("#nav-snapshots");
    await until("the catalog, empty", async () => js(`return document.getElementById("snaps-summary")?.textContent.startsWith("0 snapshots")`), 20_000);
    // Up may still be waiting for its health checks when the nodes are green.
    await idle();
    await type("#snap-label", "e2e");
    // Every step the progress line shows, however short (a poll would miss the quick ones).
    await js(`window.__steps = []; window.__stepsSeen = new MutationObserver(() => {
      const t = document.getElementById("snap-step")?.textContent; if (t && window.__steps.at(-1) !== t) window.__steps.push(t);
    }); window.__stepsSeen.observe(document.body, { subtree: true, childList: true, characterData: true }); return true;`);
    const t0 = Date.now();
    await click("#btn-snap-take");
    const row = '#snaps-table tr[data-label="e2e"]';
    await until("the e2e snapshot listed", async () => {
      await noError();
      return js(`return !!document.querySelector(arguments[0]) && !document.getElementById("snap-progress")`, row);
    }, 240_000);
    const steps = await js(`window.__stepsSeen.disconnect(); return window.__steps`);
    console.log(`snapshot taken in ${Date.now() - t0} ms; steps shown: ${steps.join(" | ")}`);
    for (const step of ["dump shop of pg (postgres)", "dump blog of maria (mariadb)", "dump cache (redis)"]) assert.ok(steps.includes(step), `the progress named the step "${step}": ${steps}`);
    const cells = await js(`return [...document.querySelector(arguments[0]).cells].map(c => c.textContent.trim())`, row);
    assert.equal(cells[3], "manual", `a snapshot the user took: ${cells}`);
    for (const svc of ["pg", "maria", "cache", "files"]) assert.ok(cells[4].includes(svc), `it holds data of ${svc}: ${cells[4]}`);
    const id = await js(`return document.querySelector(arguments[0]).dataset.id`, row);
    await click(`${row} button.expand`);
    const items = await until("its items", async () =>
      js(`return [...document.querySelectorAll('#items-' + CSS.escape(arguments[0]) + ' tbody tr')].map(r => [r.dataset.service, r.dataset.kind, r.cells[2].textContent, r.cells[5].dataset.counts])`, id).then((r) => (r.length ? r : false)));
    const shop = items.find(([svc, kind, what]) => svc === "pg" && kind === "postgres" && what === "shop");
    assert.ok(shop, `pg's shop database is an item: ${JSON.stringify(items)}`);
    assert.ok(Object.values(JSON.parse(shop[3])).includes(500), `its 500 rows were counted: ${shop[3]}`);
    assert.ok(items.some(([svc, kind, what]) => svc === "maria" && kind === "mariadb" && what === "blog"), "maria's blog database");
    assert.ok(items.some(([svc, kind]) => svc === "cache" && kind === "redis"), "the Redis dataset");
    assert.ok(items.some(([svc, kind, what]) => svc === "files" && kind === "volume" && what.endsWith("uploads")), "the uploads volume");

    psql("delete from items");
    assert.equal(psql("select count(*) from items"), "0", "the rows are gone");
    await click(`${row} button.restore`);
    const question = await until("the restore question", async () => js(`return document.getElementById("restore-replaces")?.textContent ?? false`));
    for (const part of [/pg: database shop/, /maria: database blog/, /cache: Redis dataset/, /files: volume \S*uploads/]) assert.match(question, part, `it names what is replaced: ${question}`);
    assert.equal(await js(`return document.activeElement?.id`), "confirm-cancel", "the safe answer has the focus");
    const t1 = Date.now();
    await click("#confirm-ok");
    await until("restored", async () => {
      await noError();
      return js(`return document.getElementById("snap-result")?.dataset.kind === "restore"`);
    }, 240_000);
    console.log(`restore finished in ${Date.now() - t1} ms`);
    assert.equal(psql("select count(*) from items"), "500", "the rows are back");

    // Reset from the palette: a safety snapshot first, then everything removed and started
    // fresh; the result names the safety snapshot, and Restore it brings the rows back.
    await idle();
    await app.keys("\uE009", "k");
    await until("the palette", async () => js(`return document.activeElement?.closest("#palette") != null`));
    await type("#palette input", "reset stack");
    await app.keys("\uE007");
    const reset = await until("the reset question", async () => js(`return document.getElementById("confirm")?.textContent ?? false`));
    assert.match(reset, /safety snapshot .* first.*every container and volume of the stack is removed/, `it says what a reset does: ${reset}`);
    assert.equal(await js(`return document.getElementById("reset-rebuild").checked`), false, "no rebuild unless asked");
    await click("#confirm-ok");
    const safety = await until("reset, with its safety snapshot named", async () => {
      await noError();
      return js(`return document.getElementById("reset-result")?.dataset.safety ?? false`);
    }, 240_000);
    assert.equal(await js(`return document.querySelector('#snaps-table tr[data-id="' + arguments[0] + '"] .pill')?.textContent`, safety), "safety", "listed with its origin");
    assert.match(compose("exec", "-T", "pg", "psql", "-U", "app", "-d", "shop", "-Atc", "select to_regclass('items') is null"), /^t$/, "the reset started from empty volumes");
    // The screen with both rows, the manual one opened, and the reset's result.
    const problems = await axeProblems();
    assert.deepEqual(problems, [], `Snapshots: ${problems.join("\n")}`);
    await js(`document.activeElement?.blur()`);
    await shot("snapshots");
    await click("#btn-restore-safety");
    await until("the restore question", async () => js(`return !!document.getElementById("restore-replaces")`));
    await click("#confirm-ok");
    await until("the safety snapshot restored", async () => {
      await noError();
      return js(`return document.getElementById("snap-result")?.dataset.kind === "restore"`);
    }, 240_000);
    assert.equal(psql("select count(*) from items"), "500", "the rows are back after the reset");


    // Down with volumes, asked first, as a person ends with such a stack.
    await idle();
    await app.keys("\uE009", "k");
    await until("the palette", async () => js(`return document.activeElement?.closest("#palette") != null`));
    await type("#palette input", "delete volumes");
    await app.keys("\uE007");
    await until("the question", async () => js(`return !!document.getElementById("confirm")`));
    await click("#confirm-ok");
    let said = "";
    await until("nothing left running", async () => {
      said = await js(`return [document.getElementById("summary").textContent, document.querySelector(".busy")?.textContent ?? "", document.querySelector(".banner.error")?.textContent ?? "", document.getElementById("confirm")?.textContent ?? ""].join(" / ")`);
      return /4 not created/.test(said);
    }, 120_000).catch((e) => { throw new Error(`${e.message}; the window says: ${said}`); });
  } finally {
    spawnSync("docker", ["compose", "-p", name, "--project-directory", dir, "down", "-v", "-t", "1"], { stdio: "ignore" });
    await click(`#recent-stacks li[data-path="${stackDir}"] button`);
    await until("back on the demo", async () => (await js(`return document.querySelectorAll("g.service").length`)) === 4);
    await click("#nav-overview");
    if (await js(`return !!document.querySelector('#recent-stacks li[data-path="${dir}"] button.remove')`)) await click(`#recent-stacks li[data-path="${dir}"] button.remove`);
  }
});

test("Checks: a stack that does not load for want of its .env shows its checklist with the fix; Create .env opens it, green before Up and running after", async () => {
  const name = `berthchecks${process.pid}`;
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "berth-e2e-checks-")), name);
  fs.cpSync(path.join(REPO, "tests/fixtures/doctor/env"), dir, { recursive: true });
  // Each item of a checklist on screen: [id, status, its text].
  const checklist = (root) => js(`return [...document.querySelectorAll(arguments[0] + " .checklist li[data-check]")].map(l => [l.dataset.check, l.dataset.status, l.textContent])`, root);
  const byId = (items) => Object.fromEntries(items.map(([id, status, text]) => [id, { status, text }]));
  const fails = (items) => items.filter(([, status]) => status === "fail").map(([id, , text]) => `${id}: ${text}`);
  const idle = (root) => until("the checks done", async () => js(`const b = document.querySelector(arguments[0] + " .run-checks"); return !!b && !b.disabled`, root), 60_000);
  const started = Date.now();
  try {
    await click("#nav-overview");
    await type("#stack-path", dir);
    await click("form button[type=submit]");
    await idle("#unopened-checks");
    const broken = byId(await until("the checklist of the folder that did not load", async () => {
      const c = await checklist("#unopened-checks");
      return c.length ? c : false;
    }));
    assert.equal(broken.variables?.status, "fail", `variables fails: ${JSON.stringify(broken)}`);
    assert.match(broken.variables.text, /APP_GREETING/, "naming the variable");
    assert.equal(broken.env?.status, "fail", ".env is missing");
    const fix = '#unopened-checks li[data-check="variables"] button.fix';
    assert.match(await js(`return document.querySelector(arguments[0])?.textContent ?? ""`, fix), /Create \.env from \.env\.example/);
    assert.match(await js(`return document.querySelector(".banner.error")?.textContent ?? ""`), /APP_GREETING/, "the error says it too");
    const unopenedAxe = await axeProblems();
    assert.deepEqual(unopenedAxe, [], `the checklist of a folder that did not load: ${unopenedAxe.join("\n")}`);

    await click(fix);
    await until("the stack opened on its Checks", async () =>
      (await js(`return document.querySelector(".stack-name")?.dataset.project`)) === name && js(`return !!document.getElementById("checks-page")`), 60_000);
    assert.ok(fs.existsSync(path.join(dir, ".env")), ".env was created");
    assert.match(fs.readFileSync(path.join(dir, ".env"), "utf8"), /APP_GREETING=hello from the example/);
    assert.equal(await js(`return !!document.querySelector(".banner.error")`), false, "no error left");
    await idle("#checks-page");
    const opened = await until("the opened stack's checklist", async () => {
      const c = await checklist("#checks-page");
      return c.some(([id]) => id === "running") ? c : false;
    }, 60_000);
    assert.deepEqual(fails(opened), [], "nothing fails before the first Up");
    assert.equal(byId(opened).running.status, "skip", "not up yet");
    assert.equal(byId(opened).env.status, "ok");

    // Before the first Up the Overview shows the checklist too.
    await click("#nav-overview");
    const card = await until("the checklist on the Overview", async () => {
      const c = await checklist("#first-checks");
      return c.length ? c : false;
    }, 30_000);
    assert.deepEqual(fails(card), [], "green on the Overview");
    // Back to Checks through the palette.
    await app.keys("\uE009", "k");
    await until("the palette", async () => js(`return document.activeElement?.closest("#palette") != null`));
    await type("#palette input", "run checks");
    await app.keys("\uE007");
    await until("the Checks view", async () => js(`return !!document.getElementById("checks-page")`));

    await idle("#checks-page");
    await click("#btn-up");
    await until("web green", async () => {
      const e = await js(`return document.querySelector(".banner.error")?.textContent ?? null`);
      if (e) throw new Error(`the window says: ${e}`);
      const s = await statuses();
      return Object.keys(s).length === 1 && s.web === "good" ? s : false;
    }, 120_000);
    await until("Up finished", async () => !(await js(`return !!document.getElementById("btn-cancel")`)), 60_000);
    await idle("#checks-page");
    await click("#checks-page .run-checks");
    const running = await until("running ok", async () => {
      if (await js(`return document.querySelector("#checks-page .run-checks").disabled`)) return false;
      const c = await checklist("#checks-page");
      return byId(c).running?.status === "ok" ? c : false;
    }, 60_000);
    assert.deepEqual(fails(running), [], "nothing fails once up");
    assert.equal(await js(`return document.querySelectorAll("#checks-page .diagnosis").length`), 0, "nothing diagnosed");
    const problems = await axeProblems();
    assert.deepEqual(problems, [], `the Checks view: ${problems.join("\n")}`);
    await js(`document.activeElement?.blur()`);
    await shot("checks");
    console.log(`Checks: from a folder without .env to running and checked in ${Date.now() - started} ms`);
  } finally {
    spawnSync("docker", ["compose", "-p", name, "--project-directory", dir, "down", "-v", "-t", "1"], { stdio: "ignore" });
    await click(`#recent-stacks li[data-path="${stackDir}"] button`);
    await until("back on the demo", async () => (await js(`return document.querySelectorAll("g.service").length`)) === 4);
    await click("#nav-overview");
    if (await js(`return !!document.querySelector('#recent-stacks li[data-path="${dir}"] button.remove')`)) await click(`#recent-stacks li[data-path="${dir}"] button.remove`);
  }
});

// A free TCP port on loopback, for a fixture's published port.
const freePort = () => new Promise((resolve, reject) => {
  const srv = net.createServer();
  srv.on("error", reject);
  srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
});

test("Probes: each connection's probe colours its edge on the diagram, ok up, no such host once its target stopped", async () => {
  const name = `berthprobes${process.pid}`;
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "berth-e2e-probes-")), name);
  fs.cpSync(path.join(REPO, "tests/fixtures/doctor/stale"), dir, { recursive: true });
  fs.writeFileSync(path.join(dir, ".env"), `STALE_PORT=${await freePort()}\n`);
  const edge = 'g.edge[data-edge="svc:web>svc:app"]';
  const pill = 'g.badges[data-edge="svc:web>svc:app"] g.badge.probe';
  const probeOnEdge = () => js(`const e = document.querySelector(arguments[0]), p = document.querySelector(arguments[1]);
    return { edge: e?.dataset.probe ?? null, cls: e?.getAttribute("class") ?? "", pill: p?.querySelector("text")?.textContent ?? null,
      pillCls: p?.getAttribute("class") ?? "", title: p?.querySelector("title")?.textContent ?? null }`, edge, pill);
  const idle = () => until("the checks done", async () => js(`const b = document.querySelector("#checks-page .run-checks"); return !!b && !b.disabled`), 60_000);
  // Checks from the palette, then back on the Overview.
  async function runChecks() {
    await app.keys("\uE009", "k");
    await until("the palette", async () => js(`return document.activeElement?.closest("#palette") != null`));
    await type("#palette input", "run checks");
    await app.keys("\uE007");
    await until("the Checks view", async () => js(`return !!document.getElementById("checks-page")`));
    await idle();
    await click("#nav-overview");
    await until("the diagram", async () => js(`return !!document.querySelector(arguments[0])`, edge), 30_000);
  }
  try {
    await click("#nav-overview");
    await type("#stack-path", dir);
    await click("form button[type=submit]");
    await until("the stack open", async () =>
      (await js(`return document.querySelector(".stack-name")?.dataset.project`)) === name && (await js(`return document.querySelectorAll("g.service").length`)) === 2, 60_000);
    assert.equal((await probeOnEdge()).edge, null, "no probe before Up");
    await click("#btn-up");
    await until("web and app green", async () => {
      const e = await js(`return document.querySelector(".banner.error")?.textContent ?? null`);
      if (e) throw new Error(`the window says: ${e}`);
      const s = await statuses();
      return s.web === "good" && s.app === "good" ? s : false;
    }, 120_000);
    await until("Up finished", async () => !(await js(`return !!document.getElementById("btn-cancel")`)), 60_000);
    const x0 = await js(`return document.querySelector('g.service[data-service="app"]').dataset.x`);
    await runChecks();
    const ok = await until("web → app ok", async () => { const p = await probeOnEdge(); return p.edge === "ok" ? p : false; }, 60_000);
    assert.match(ok.cls, /probe-good/);
    assert.match(ok.pillCls, /\bgood\b/);
    assert.match(ok.pill, /reachable/);
    assert.match(ok.title, /^web → app:8000 ok \(\d+ ms\)/);

    execFileSync("docker", ["compose", "-p", name, "--project-directory", dir, "stop", "-t", "1", "app"], { stdio: "ignore" });
    await until("app stopped", async () => (await statuses()).app !== "good", 30_000);
    let bad = null;
    for (let i = 0; i < 3 && !bad; i++) {
      await runChecks();
      bad = await until("web → app no such host", async () => { const p = await probeOnEdge(); return p.edge === "nxdomain" ? p : false; }, 10_000).catch(() => null);
    }
    assert.ok(bad, `the edge shows the failed probe: ${JSON.stringify(await probeOnEdge())}`);
    assert.match(bad.cls, /probe-bad/);
    assert.match(bad.pillCls, /\bbad\b/);
    assert.equal(bad.pill, "✕ no such host");
    assert.match(bad.title, /^web → app:8000 no such host/);
    assert.equal(await js(`return document.querySelector('g.service[data-service="app"]').dataset.x`), x0, "no relayout");
    const marks = await js(`return [...document.querySelectorAll("g.service .diagnosis-mark")].map(m => [m.closest("g.service").dataset.service, m.textContent])`);
    console.log(`diagnosis badges: ${JSON.stringify(marks)}`);
    for (const [, text] of marks) assert.match(text, /⚠ \d/);
    await js(`document.activeElement?.blur()`);
    await shot("probes");
  } finally {
    spawnSync("docker", ["compose", "-p", name, "--project-directory", dir, "down", "-v", "-t", "1"], { stdio: "ignore" });
    await click(`#recent-stacks li[data-path="${stackDir}"] button`);
    await until("back on the demo", async () => (await js(`return document.querySelectorAll("g.service").length`)) === 4);
    await click("#nav-overview");
    if (await js(`return !!document.querySelector('#recent-stacks li[data-path="${dir}"] button.remove')`)) await click(`#recent-stacks li[data-path="${dir}"] button.remove`);
  }
});

test("with dockerd stopped a banner says so, and the app recovers by itself", async () => {
  const pid = fs.readFileSync("/var/run/docker.pid", "utf8").trim();
  execFileSync("kill", ["-TERM", pid]);
  await until("dockerd down", async () => !dockerUp(), 40_000);
  await until("the banner", async () => js(`return !!document.getElementById("engine-banner")`), 30_000);
  const stale = await until("stale colours gone", async () => {
    const s = await statuses();
    return Object.values(s).every((v) => v === "unknown") ? s : false;
  }, 10_000);
  assert.equal(Object.keys(stale).length, 4, "every node greyed: what Docker last said is not shown as current");
  assert.match(await js(`return document.getElementById("summary").textContent`), /unknown while Docker is unreachable/);
  assert.equal(await js(`return document.getElementById("btn-up").disabled`), true, "nothing to act on until Docker answers");
  await shot("engine-down");
  await until("old dockerd gone", async () => spawnSync("kill", ["-0", pid]).status !== 0, 40_000);
  spawnSync("sh", ["-c", "dockerd >>/tmp/berth-dockerd.log 2>&1 &"]);
  await until("dockerd up", async () => dockerUp(), 60_000);
  await until("banner gone", async () => js(`return !document.getElementById("engine-banner")`), 60_000);
  await until("nodes coloured from live status again", async () => Object.values(await statuses()).every((v) => v !== "unknown"), 30_000);
  assert.equal(await js(`return document.getElementById("btn-up").disabled`), false, "actions are back");
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

test("Choose folder opens a stack through the native folder dialog", async () => {
  const other = path.join(path.dirname(stackDir), "luminai");
  fs.cpSync(path.join(REPO, "tests/fixtures/luminai"), other, { recursive: true });
  await click("#btn-choose");
  await answerDialog("Open a compose project", [["key", "ctrl+l"], ["type", "--delay", "10", other], ["key", "Return"], ["key", "Return"]]);
  await until("the chosen stack", async () => (await js(`return document.querySelector(".stack-name")?.dataset.project`)) === "luminai", 20_000);
  const services = await js(`return [...document.querySelectorAll("g.service")].map(g => g.dataset.service).sort()`);
  assert.ok(services.length >= 4 && services.includes("nginx"), `luminai's services drawn: ${services}`);
});

test("the window comes back at the size and place it was left, the log view with its switches", async () => {
  const rect = () => app.call("GET", `/session/${app.id}/window/rect`);
  const before = await rect();
  await app.call("POST", `/session/${app.id}/window/rect`, { width: 1100, height: 720, x: 40, y: 30 });
  const want = await until("the window resized", async () => {
    const r = await rect();
    return r.width !== before.width ? r : false;
  });
  assert.notDeepEqual([want.width, want.height], [before.width, before.height], "the resize took effect");
  // The log view's "times" switch is kept too.
  if (!(await js(`return document.getElementById("log-timestamps").checked`))) await click("#log-timestamps");
  assert.equal(await js(`return document.getElementById("log-timestamps").checked`), true);
  await sleep(1000); // the app keeps the place once moves and resizes settle
  await app.end();
  app = await Session.start(APP, [stackDir]);
  await until("the diagram again", async () => (await js(`return document.querySelectorAll("g.service").length`)) === 4, 30_000);
  const got = await until("the restored size", async () => {
    const r = await rect();
    return r.width === want.width ? r : false;
  }, 5000).catch(() => rect());
  assert.deepEqual([got.width, got.height, got.x, got.y], [want.width, want.height, want.x, want.y], "size and place as left, not the 1280x800 default");
  await until("times still on", async () => js(`return document.getElementById("log-timestamps").checked`), 5000);
  await until("rows with times", async () => js(`return !!document.querySelector("#log-lines .log-row .ts")`), 10_000);
});

test("started without a stack, the first-run screen says what Berth needs and opens one", async () => {
  await app.end();
  app = await Session.start(APP, []);
  const checks = await until("the machine checked", async () =>
    js(`return [...document.querySelectorAll("#machine-check li[data-check]")].map(l => [l.dataset.check, l.dataset.ok, l.textContent])`).then((c) => (c.length === 2 ? c : false)), 20_000);
  const byId = Object.fromEntries(checks.map(([id, ok, text]) => [id, { ok, text }]));
  assert.equal(byId.engine.ok, "true", `the engine is found: ${byId.engine.text}`);
  assert.match(byId.engine.text, /Docker \d+\.\d+.* at unix:\/\/\/var\/run\/docker\.sock/, "which engine, where");
  assert.equal(byId.compose.ok, "true", `a compose is found: ${byId.compose.text}`);
  assert.match(byId.compose.text, /Compose v2|docker-compose v1/);
  assert.ok(await js(`return !!document.getElementById("btn-first-open")`), "a button opens a folder");
  // The running e2e stack is offered from the engine's own labels.
  await until("the running stack offered", async () => js(`return [...document.querySelectorAll("#first-run .recent button")].some(b => b.textContent === arguments[0])`, project), 10_000);
  await js(`[...document.querySelectorAll("#first-run .recent button")].find(b => b.textContent === arguments[0]).click(); return true;`, project);
  await until("the stack opened from the engine's list", async () => (await js(`return document.querySelectorAll("g.service").length`)) === 4, 30_000);
});
