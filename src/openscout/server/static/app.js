// Shared helpers for every page. No inline script anywhere: the CSP allows only these files.
// Model output is always inserted with textContent, never innerHTML.
"use strict";

window.OS = (function () {
  async function api(path, options) {
    const opts = options || {};
    const init = { method: opts.method || "GET", headers: {}, credentials: "same-origin" };
    if (opts.body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    const res = await fetch(path, init);
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!res.ok) {
      const msg = data && data.error && data.error.message ? data.error.message : res.status + " " + res.statusText;
      throw new Error(msg);
    }
    return data;
  }

  // POST a JSON body and call onEvent(obj) for every server-sent event until [DONE].
  async function stream(path, body, onEvent, signal) {
    const res = await fetch(path, {
      method: "POST", credentials: "same-origin", signal: signal,
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify(body),
    });
    if (!res.ok) {
      let msg = res.status + " " + res.statusText;
      try { const d = await res.json(); if (d.error && d.error.message) msg = d.error.message; } catch (e) { /* keep */ }
      throw new Error(msg);
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const raw = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        for (const line of raw.split("\n")) {
          if (!line.startsWith("data:")) continue;
          const payload = line.slice(5).trim();
          if (payload === "[DONE]") return;
          const obj = JSON.parse(payload);
          if (obj.error) throw new Error(typeof obj.error === "string" ? obj.error : obj.error.message);
          onEvent(obj);
        }
      }
    }
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function showError(err) {
    const box = document.getElementById("error");
    if (!box) return;
    box.textContent = err ? String(err.message || err) : "";
    box.hidden = !err;
  }

  function fmt(v, digits, unit) {
    if (v === null || v === undefined || Number.isNaN(v)) return "-";
    return Number(v).toFixed(digits) + (unit || "");
  }

  // Live speed while streaming: chunks after the first over the time since the first.
  function meter() {
    const t0 = performance.now();
    let first = null, n = 0;
    return {
      tick() { n += 1; if (first === null) first = performance.now(); },
      ttft() { return first === null ? null : (first - t0) / 1000; },
      tps() { const span = (performance.now() - first) / 1000; return n > 1 && span > 0 ? (n - 1) / span : null; },
      count() { return n; },
    };
  }

  return { api, stream, el, showError, fmt, meter };
})();
