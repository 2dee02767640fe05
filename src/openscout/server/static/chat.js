"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let chatId = null;
  let turns = [];
  let busy = false;

  function params() {
    return {
      temperature: parseFloat($("temperature").value),
      top_p: parseFloat($("top_p").value),
      max_tokens: parseInt($("max_tokens").value, 10),
    };
  }

  function addBubble(role, text, meta) {
    const box = OS.el("div", "msg msg-" + role);
    box.appendChild(OS.el("div", "who", role === "user" ? "You" : (meta || "Assistant")));
    const body = OS.el("div", "text", text);
    box.appendChild(body);
    $("messages").appendChild(box);
    box.scrollIntoView({ block: "end" });
    return body;
  }

  async function refreshList() {
    const data = await OS.api("/ui/api/chats");
    const list = $("chat-list");
    list.replaceChildren();
    for (const c of data.chats) {
      const li = OS.el("li", c.id === chatId ? "current" : "");
      const a = OS.el("a", "", c.title);
      a.href = "/chat?chat=" + encodeURIComponent(c.id);
      a.dataset.chatId = c.id;
      li.appendChild(a);
      li.appendChild(OS.el("span", "muted", " · " + c.model_id));
      list.appendChild(li);
    }
  }

  // a base model is marked in the picker; this note says what that means for the chat
  function showBaseNote() {
    const opt = $("model").selectedOptions[0];
    $("base-note").hidden = !(opt && opt.dataset.base);
  }

  function showExport() {
    $("export").hidden = chatId === null;
    if (chatId !== null) {
      $("export-json").href = "/ui/api/chats/" + chatId + "/export?format=json";
      $("export-md").href = "/ui/api/chats/" + chatId + "/export?format=md";
    }
  }

  async function load(id) {
    const chat = await OS.api("/ui/api/chats/" + encodeURIComponent(id));
    chatId = chat.id;
    turns = [];
    $("messages").replaceChildren();
    $("system").value = chat.system_prompt || "";
    for (const key of ["temperature", "top_p", "max_tokens"]) {
      if (chat.params && chat.params[key] !== undefined && chat.params[key] !== null) $(key).value = chat.params[key];
    }
    if ([...$("model").options].some((o) => o.value === chat.model_id)) $("model").value = chat.model_id;
    showBaseNote();
    for (const m of chat.messages) {
      addBubble(m.role, m.content, m.model_id || undefined);
      turns.push({ role: m.role, content: m.content });
    }
    showExport();
    await refreshList();
  }

  function reset() {
    chatId = null;
    turns = [];
    $("messages").replaceChildren();
    $("stats").textContent = "";
    window.history.replaceState(null, "", "/chat");
    showExport();
    refreshList();
  }

  async function send(ev) {
    ev.preventDefault();
    if (busy) return;
    const text = $("input").value.trim();
    if (!text) return;
    OS.showError(null);
    busy = true;
    $("send").disabled = true;
    const model = $("model").value;
    const system = $("system").value.trim();
    try {
      if (chatId === null) {
        const chat = await OS.api("/ui/api/chats", { method: "POST", body: { model, title: text, system_prompt: system, params: params() } });
        chatId = chat.id;
        window.history.replaceState(null, "", "/chat?chat=" + chatId);
      }
      // the turn's settings are kept with the chat: it reopens as it was last used
      await OS.api("/ui/api/chats/" + chatId + "/messages", {
        method: "POST",
        body: { role: "user", content: text, model, system_prompt: system, params: params() },
      });
      addBubble("user", text);
      turns.push({ role: "user", content: text });
      $("input").value = "";
      const messages = (system ? [{ role: "system", content: system }] : []).concat(turns);
      const out = addBubble("assistant", "", model);
      out.classList.add("streaming");
      const m = OS.meter();
      let answer = "", timings = null, usage = null;
      await OS.stream("/v1/chat/completions", Object.assign({ model, messages, stream: true, stream_options: { include_usage: true } }, params()), (chunk) => {
        if (chunk.usage) usage = chunk.usage;
        if (chunk.timings) timings = chunk.timings;
        for (const c of chunk.choices || []) {
          const piece = c.delta && c.delta.content;
          if (piece) {
            m.tick();
            answer += piece;
            out.textContent = answer;
            $("stats").textContent = "streaming · " + OS.fmt(m.tps(), 1, " tok/s") + " · TTFT " + OS.fmt(m.ttft(), 2, " s");
          }
        }
      });
      out.classList.remove("streaming");
      out.parentElement.classList.add("done");
      const tps = timings ? timings.predicted_per_second : m.tps();
      const ttft = timings && timings.ttft_ms !== null ? timings.ttft_ms / 1000 : m.ttft();
      const tokens = usage ? usage.completion_tokens : m.count();
      $("stats").textContent = tokens + " tokens · " + OS.fmt(tps, 1, " tok/s") + " · TTFT " + OS.fmt(ttft, 2, " s");
      turns.push({ role: "assistant", content: answer });
      await OS.api("/ui/api/chats/" + chatId + "/messages", {
        method: "POST",
        body: { role: "assistant", content: answer, model_id: model, completion_tokens: tokens,
                prompt_tokens: usage ? usage.prompt_tokens : null, ttft_s: ttft, output_tps: tps },
      });
      showExport();
      await refreshList();
    } catch (err) {
      OS.showError(err);
    } finally {
      busy = false;
      $("send").disabled = false;
    }
  }

  async function del() {
    if (chatId === null) return;
    await OS.api("/ui/api/chats/" + chatId, { method: "DELETE" });
    reset();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("send-form").addEventListener("submit", send);
    $("new-chat").addEventListener("click", reset);
    $("delete-chat").addEventListener("click", () => del().catch(OS.showError));
    // Enter sends, Shift+Enter makes a new line; not while an input method is composing a word
    $("input").addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
      e.preventDefault();
      $("send-form").requestSubmit();
    });
    $("model").addEventListener("change", showBaseNote);
    showBaseNote();
    const wanted = new URLSearchParams(location.search).get("chat");
    (wanted ? load(wanted) : refreshList()).catch(OS.showError);
  });
})();
