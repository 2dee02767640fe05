"use strict";
(function () {
  const $ = (id) => document.getElementById(id);

  async function runOne(model, format, prompt, maxTokens, col) {
    const out = col.querySelector(".answer");
    const meta = col.querySelector(".meta");
    const m = OS.meter();
    let text = "", timings = null;
    const chat = format === "chat";
    const path = chat ? "/v1/chat/completions" : "/v1/completions";
    const body = chat
      ? { model, messages: [{ role: "user", content: prompt }], stream: true, max_tokens: maxTokens, temperature: 0 }
      : { model, prompt, stream: true, max_tokens: maxTokens, temperature: 0 };
    meta.textContent = "waiting…";
    try {
      await OS.stream(path, body, (chunk) => {
        if (chunk.timings) timings = chunk.timings;
        for (const c of chunk.choices || []) {
          const piece = chat ? (c.delta && c.delta.content) : c.text;
          if (piece) {
            m.tick();
            text += piece;
            out.textContent = text;
            meta.textContent = "TTFT " + OS.fmt(m.ttft(), 2, " s") + " · " + OS.fmt(m.tps(), 1, " tok/s");
          }
        }
      });
      const ttft = timings && timings.ttft_ms !== null ? timings.ttft_ms / 1000 : m.ttft();
      const tps = timings ? timings.predicted_per_second : m.tps();
      meta.textContent = "TTFT " + OS.fmt(ttft, 2, " s") + " · " + OS.fmt(tps, 1, " tok/s") +
        (timings ? " · " + timings.predicted_n + " tokens" : "");
      col.classList.add("done");
    } catch (err) {
      meta.textContent = "error: " + err.message;
      col.classList.add("failed");
    }
  }

  async function run(ev) {
    ev.preventDefault();
    OS.showError(null);
    const boxes = [...document.querySelectorAll("#compare-models input[name=model]:checked")];
    if (boxes.length === 0) { OS.showError("pick at least one model"); return; }
    const prompt = $("compare-prompt").value.trim();
    const maxTokens = parseInt($("compare-max").value, 10);
    const outArea = $("compare-out");
    outArea.replaceChildren();
    $("compare-run").disabled = true;
    const jobs = boxes.map((box) => {
      const col = OS.el("div", "col");
      col.dataset.model = box.value;
      col.appendChild(OS.el("h3", "", box.value));
      col.appendChild(OS.el("div", "answer"));
      col.appendChild(OS.el("div", "meta"));
      outArea.appendChild(col);
      return runOne(box.value, box.dataset.format, prompt, maxTokens, col);
    });
    await Promise.all(jobs);
    $("compare-run").disabled = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("compare-form").addEventListener("submit", run);
  });
})();
