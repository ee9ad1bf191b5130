import { mount } from "svelte";
import App from "./App.svelte";
import "./style.css";
import { stampStyleNonces } from "./nonce";

stampStyleNonces();

// Start-up marks (epoch ms) that bench/app.mjs reads to split launch time into its parts.
document.documentElement.dataset.tScript = String(Math.round(performance.timeOrigin + performance.now()));
document.documentElement.dataset.tNavigation = String(Math.round(performance.timeOrigin));
mount(App, { target: document.getElementById("app")! });
