import fs from "node:fs";
import { execFileSync } from "node:child_process";
// A minimal W3C WebDriver client over fetch, shared by the e2e tests and bench/app.mjs.

export const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";
const DRIVER = process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444";

export class Session {
  static async start(application, args) {
    const caps = { capabilities: { alwaysMatch: { "tauri:options": { application, args } } } };
    const s = new Session();
    s.id = (await s.call("POST", "/session", caps)).sessionId;
    return s;
  }

  async call(method, url, body) {
    const r = await fetch(`${DRIVER}${url}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const j = await r.json();
    if (!r.ok) throw new Error(`${method} ${url}: ${JSON.stringify(j.value)}`);
    return j.value;
  }

  js(script, ...args) {
    return this.call("POST", `/session/${this.id}/execute/sync`, { script, args });
  }

  async element(css) {
    return (await this.call("POST", `/session/${this.id}/element`, { using: "css selector", value: css }))[ELEMENT];
  }

  async click(css) {
    await this.call("POST", `/session/${this.id}/element/${await this.element(css)}/click`, {});
  }

  async type(css, text) {
    const el = await this.element(css);
    await this.call("POST", `/session/${this.id}/element/${el}/clear`, {});
    await this.call("POST", `/session/${this.id}/element/${el}/value`, { text });
  }

  // Types into an element without clearing it first (a terminal's input field).
  async send(css, text) {
    const el = await this.element(css);
    await this.call("POST", `/session/${this.id}/element/${el}/value`, { text });
  }

  // Presses keys together through the WebDriver actions API (real key events, not dispatched
  // ones), then releases them. Ctrl is "\uE009", Escape "\uE00C".
  async keys(...keys) {
    const actions = [...keys.map((value) => ({ type: "keyDown", value })), ...[...keys].reverse().map((value) => ({ type: "keyUp", value }))];
    await this.call("POST", `/session/${this.id}/actions`, { actions: [{ type: "key", id: "keyboard", actions }] });
    await this.call("DELETE", `/session/${this.id}/actions`).catch(() => {});
  }

  // WebKitWebDriver's screenshot sometimes never answers (seen on the FunctionalFit diagram);
  // then the app's window is taken from the X server, as a person's screenshot tool would.
  async screenshotTo(file) {
    const viaDriver = this.screenshot().then((png) => fs.writeFileSync(file, png)).then(() => true, () => false);
    if (await Promise.race([viaDriver, new Promise((r) => setTimeout(() => r(false), 15_000))])) return;
    const r = await this.call("GET", `/session/${this.id}/window/rect`).catch(() => null);
    const crop = r ? ["-crop", `${r.width}x${r.height}+${Math.max(0, r.x)}+${Math.max(0, r.y)}`, "+repage"] : [];
    execFileSync("import", ["-window", "root", ...crop, file]);
  }

  async screenshot() {
    return Buffer.from(await this.call("GET", `/session/${this.id}/screenshot`), "base64");
  }

  async end() {
    await this.call("DELETE", `/session/${this.id}`).catch(() => {});
  }
}

export async function until(what, fn, ms = 30_000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}
