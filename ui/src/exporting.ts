// Turning the diagram on screen into standalone files. The page's stylesheet does not travel
// with an SVG file, so the colours and fonts in effect are copied onto a clone as presentation
// attributes; PNG is that SVG drawn on a canvas at twice the size.

const PROPS = ["fill", "stroke", "stroke-width", "stroke-dasharray", "stroke-linejoin", "paint-order", "font-size", "font-weight", "font-family", "opacity"];

/// The diagram's own size, whatever the zoom on screen.
export function contentSize(svg: SVGSVGElement): [number, number] {
  return [Number(svg.dataset.contentW ?? svg.width.baseVal.value), Number(svg.dataset.contentH ?? svg.height.baseVal.value)];
}

export function svgForExport(svg: SVGSVGElement): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const from = [svg, ...svg.querySelectorAll("*")];
  const to = [clone, ...clone.querySelectorAll("*")];
  from.forEach((el, i) => {
    const cs = getComputedStyle(el);
    for (const p of PROPS) {
      const v = cs.getPropertyValue(p);
      if (v) to[i].setAttribute(p, v);
    }
    to[i].removeAttribute("class");
  });
  // The whole diagram at its own size, not the zoomed and panned view on screen.
  const [cw, ch] = contentSize(svg);
  clone.setAttribute("width", String(cw));
  clone.setAttribute("height", String(ch));
  clone.setAttribute("viewBox", `-10 -10 ${cw} ${ch}`);
  clone.querySelector("g.viewport")?.removeAttribute("transform");
  clone.querySelectorAll("line.hit").forEach((el) => el.remove());
  // A background, so the file reads the same in any viewer, light or dark.
  const bg = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  const [x, y, w, h] = (clone.getAttribute("viewBox") ?? "0 0 0 0").split(/\s+/);
  for (const [k, v] of [["x", x], ["y", y], ["width", w], ["height", h], ["fill", getComputedStyle(document.body).backgroundColor]]) bg.setAttribute(k, v);
  clone.insertBefore(bg, clone.firstChild);
  clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  return new XMLSerializer().serializeToString(clone);
}

export async function pngBytes(svg: SVGSVGElement, scale = 2): Promise<Uint8Array> {
  const text = svgForExport(svg);
  const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement("canvas");
    const [cw, ch] = contentSize(svg);
    canvas.width = Math.ceil(cw * scale);
    canvas.height = Math.ceil(ch * scale);
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("This system cannot draw the PNG (no 2D canvas).");
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/png"));
    if (!blob) throw new Error("The PNG could not be encoded.");
    return new Uint8Array(await blob.arrayBuffer());
  } finally {
    URL.revokeObjectURL(url);
  }
}
