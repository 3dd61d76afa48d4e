// Render every <pre class="mermaid"> of the page as SVG with the local mermaid.min.js.
// When all diagrams are done, <html> gets data-mermaid="done" (or "error": a diagram failed,
// and mermaid has put its error picture in its place).
(function () {
  "use strict";
  async function render() {
    const root = document.documentElement;
    if (typeof window.mermaid === "undefined") {
      root.dataset.mermaid = "error";
      console.error("mermaid.min.js did not load: diagrams stay as text");
      return;
    }
    window.mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: "default", // in dark mode the theme inverts the drawn SVG (pydata-sphinx-theme's CSS)
    });
    try {
      await window.mermaid.run({ querySelector: "pre.mermaid" });
      root.dataset.mermaid = "done";
    } catch (err) {
      root.dataset.mermaid = "error";
      console.error("Mermaid diagram failed:", err && err.message ? err.message : err);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", render);
  } else {
    render();
  }
})();
