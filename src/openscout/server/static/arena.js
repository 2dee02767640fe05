"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let battle = null;

  async function answer(side) {
    const out = $("answer-" + side);
    const meta = $("meta-" + side);
    let text = "";
    await OS.stream("/ui/api/arena/battles/" + encodeURIComponent(battle) + "/answer/" + side, {}, (ev) => {
      if (ev.text) { text += ev.text; out.textContent = text; }
      // words, counted here alike for both sides: a token count in each model's own
      // tokenizer told the models apart before the vote
      if (ev.done) meta.textContent = (text.match(/\S+/g) || []).length + " words";
    });
  }

  async function start(ev) {
    ev.preventDefault();
    OS.showError(null);
    const prompt = $("arena-prompt").value.trim();
    if (!prompt) return;
    $("arena-go").disabled = true;
    $("vote-bar").hidden = true;
    $("arena-result").hidden = true;
    for (const s of ["a", "b"]) {
      $("answer-" + s).textContent = "";
      $("meta-" + s).textContent = "";
      $("name-" + s).textContent = "Model " + s.toUpperCase();
    }
    try {
      const b = await OS.api("/ui/api/arena/battles", { method: "POST", body: { prompt } });
      battle = b.id;
      $("arena-out").hidden = false;
      await Promise.all([answer("a"), answer("b")]);
      for (const btn of document.querySelectorAll("#vote-bar button")) btn.disabled = false;
      $("vote-bar").hidden = false;
    } catch (err) {
      OS.showError(err);
    } finally {
      $("arena-go").disabled = false;
    }
  }

  async function vote(ev) {
    const choice = ev.currentTarget.dataset.vote;
    for (const btn of document.querySelectorAll("#vote-bar button")) btn.disabled = true;
    try {
      const r = await OS.api("/ui/api/arena/battles/" + encodeURIComponent(battle) + "/vote", { method: "POST", body: { winner: choice } });
      $("name-a").textContent = "Model A: " + r.model_a;
      $("name-b").textContent = "Model B: " + r.model_b;
      const words = { a: "You preferred A", b: "You preferred B", tie: "You called it a tie", both_bad: "You found both bad" };
      const res = $("arena-result");
      res.replaceChildren(OS.el("span", "", words[choice] + ". "));
      const link = OS.el("a", "", "See the leaderboard");
      link.href = "/leaderboard";
      res.appendChild(link);
      res.hidden = false;
    } catch (err) {
      OS.showError(err);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("arena-form").addEventListener("submit", start);
    for (const btn of document.querySelectorAll("#vote-bar button")) btn.addEventListener("click", vote);
  });
})();
