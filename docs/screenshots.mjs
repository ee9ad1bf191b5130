// The README's pictures of the seed stacks, taken from the real window (not a test):
//   scripts/e2e.sh docs/screenshots.mjs light
//   GTK_THEME=Adwaita:dark scripts/e2e.sh docs/screenshots.mjs dark
// WebKitGTK answers `prefers-color-scheme` from the GTK theme, so the theme picks the palette.
import fs from "node:fs";
import path from "node:path";
import { Session, until } from "../tests/e2e/webdriver.mjs";

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const theme = process.argv[2] ?? "light";
const stacks = [["functionalfit", "tests/fixtures/functionalfit/infra"], ["luminai", "tests/fixtures/luminai"]];
for (const [name, dir] of stacks) {
  const app = await Session.start(process.env.BERTH_APP, [path.join(REPO, dir)]);
  try {
    await until(`${name} drawn`, async () => (await app.js(`return document.querySelector("svg.diagram")?.dataset.layoutSource`)) || false, 30_000);
    await new Promise((r) => setTimeout(r, 800));
    const dark = await app.js(`return matchMedia("(prefers-color-scheme: dark)").matches`);
    if (dark !== (theme === "dark")) throw new Error(`asked for ${theme}, the window is ${dark ? "dark" : "light"}`);
    const file = path.join(REPO, "docs/screenshots", `${name}-${theme}.png`);
    await app.screenshotTo(file);
    console.log(`wrote ${path.relative(REPO, file)}`);
  } finally {
    await app.end();
  }
}
