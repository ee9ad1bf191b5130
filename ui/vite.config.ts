import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// Built files go to ui/dist, which src-tauri/tauri.conf.json serves. No dev server: the app
// always loads the built bundle, so the strict CSP is the one users get.
export default defineConfig({
  plugins: [svelte()],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000 },
  clearScreen: false,
});
