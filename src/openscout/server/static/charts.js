"use strict";
// Draws the comparison charts from JSON blocks on the page (never executed as script).
document.addEventListener("DOMContentLoaded", () => {
  if (!window.Plotly) return;
  for (const div of document.querySelectorAll("[data-chart]")) {
    const block = document.getElementById("chart-data-" + div.dataset.chart);
    if (!block) continue;
    const spec = JSON.parse(block.textContent);
    window.Plotly.newPlot(div, spec.data || [], spec.layout || {}, { displaylogo: false, responsive: true });
  }
});
