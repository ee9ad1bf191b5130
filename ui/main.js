// Renders view-ready data from the Rust facade. No business logic lives here.
const invoke = window.__TAURI__.core.invoke;

function text(tag, value) {
  const el = document.createElement(tag);
  el.textContent = value;
  return el;
}

function showError(message) {
  const el = document.getElementById("error");
  el.textContent = message;
  el.hidden = false;
  document.getElementById("stack").hidden = true;
}

async function open(dir) {
  try {
    const view = await invoke("inspect_stack", { dir });
    document.getElementById("error").hidden = true;
    document.getElementById("project").textContent = `${view.project} — ${view.files.join(", ")}`;
    const body = document.querySelector("#services tbody");
    body.replaceChildren();
    for (const s of view.services) {
      const row = document.createElement("tr");
      row.dataset.service = s.name;
      const ports = s.ports.map((p) => `${p.host_ip ?? "*"}:${p.host_port ?? "auto"}→${p.container_port}`).join(", ");
      for (const v of [s.name, s.role, s.image ?? "(built)", ports, s.networks.join(", ")]) row.append(text("td", v));
      body.append(row);
    }
    const edges = document.getElementById("edges");
    edges.replaceChildren();
    for (const e of view.edges) {
      const li = text("li", `${e.from} → ${e.to} (${e.kind})`);
      li.title = `${e.evidence}: ${e.detail}`;
      edges.append(li);
    }
    document.getElementById("stack").hidden = false;
  } catch (err) {
    showError(err && err.message ? err.message : String(err));
  }
}

document.getElementById("open").addEventListener("submit", (ev) => {
  ev.preventDefault();
  open(document.getElementById("dir").value);
});

invoke("initial_stack").then((dir) => {
  if (dir) {
    document.getElementById("dir").value = dir;
    open(dir);
  }
});
