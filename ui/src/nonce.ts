// xterm.js writes its sizes and colours into <style> elements it creates, which the app's CSP
// (`style-src 'self'` plus the nonce Tauri puts on the page's own <style>) refuses. Rather than
// allow every inline style ('unsafe-inline'), the page's nonce is put on the <style> elements
// created after start-up: only code the app ships runs here (script-src 'self'), and a style
// element cannot run code.
const nonce = document.querySelector<HTMLStyleElement>("style[nonce]")?.nonce ?? "";

export function stampStyleNonces() {
  if (!nonce) return;
  const create = Document.prototype.createElement;
  Document.prototype.createElement = function (this: Document, tag: string, options?: ElementCreationOptions) {
    const el = create.call(this, tag, options);
    // Set before the element is inserted: a nonce added later does not count.
    if (tag.toLowerCase() === "style") el.setAttribute("nonce", nonce);
    return el;
  } as typeof Document.prototype.createElement;
}
