// Interactive checkpoints: every `.lp-quiz` block reads the questions that the book build
// embedded next to it (JSON) and lets the reader answer them with instant feedback.
(function () {
  "use strict";

  function el(tag, cls, html) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (html !== undefined) node.innerHTML = html;
    return node;
  }

  function sameSet(a, b) {
    return a.length === b.length && a.every((x) => b.includes(x));
  }

  function partialScore(q, chosen) {
    const right = chosen.filter((k) => q.answer.includes(k)).length;
    const wrong = chosen.length - right;
    return Math.max(0, (right - wrong) / q.answer.length);
  }

  function revisit(q) {
    return '<p class="lp-revisit">Revisit: <a href="' + q.section_url + '">' + q.section_title + "</a></p>";
  }

  function showResult(box, q, correct, detail) {
    box.className = "lp-result " + (correct ? "lp-right" : "lp-wrong");
    box.innerHTML = correct
      ? '<p class="lp-verdict">✔ Correct.</p>' + q.explanation
      : '<p class="lp-verdict">✘ Not quite.</p>' + (detail || "") + revisit(q);
  }

  function renderChoice(q, body, result, tally) {
    const multiple = q.type === "multiple";
    const list = el("div", "lp-options");
    q.options.forEach((opt) => {
      const id = q.id + "-" + opt.key;
      const row = el("label", "lp-option");
      row.setAttribute("for", id);
      const input = el("input");
      input.type = multiple ? "checkbox" : "radio";
      input.name = q.id;
      input.id = id;
      input.value = opt.key;
      row.appendChild(input);
      row.appendChild(el("span", "lp-key", q.type === "truefalse" ? "" : opt.key + ")"));
      row.appendChild(el("span", "lp-text", opt.html));
      list.appendChild(row);
      if (!multiple) {
        input.addEventListener("change", () => {
          const correct = q.answer.includes(opt.key);
          tally(q.id, correct);
          showResult(result, q, correct, q.feedback[opt.key] ? "<p>" + q.feedback[opt.key] + "</p>" : "");
        });
      }
    });
    body.appendChild(list);
    if (multiple) {
      const button = el("button", "lp-check", "Check");
      button.type = "button";
      button.addEventListener("click", () => {
        const chosen = Array.from(list.querySelectorAll("input:checked")).map((i) => i.value);
        const correct = sameSet(chosen, q.answer);
        tally(q.id, correct);
        const notes = chosen.filter((k) => !q.answer.includes(k) && q.feedback[k])
          .map((k) => "<p>" + k + ") " + q.feedback[k] + "</p>").join("");
        const missed = q.answer.filter((k) => !chosen.includes(k)).length;
        let detail = notes + (missed ? "<p>You left out " + missed + " right option(s).</p>" : "");
        if (q.scoring === "partial") {
          detail += "<p>Partial credit: " + Math.round(partialScore(q, chosen) * 100) + "%.</p>";
        }
        showResult(result, q, correct, detail);
      });
      body.appendChild(button);
    }
  }

  function renderNumeric(q, body, result, tally) {
    const input = el("input", "lp-number");
    input.type = "number";
    input.step = "any";
    input.setAttribute("aria-label", "your answer");
    const button = el("button", "lp-check", "Check");
    button.type = "button";
    button.addEventListener("click", () => {
      const value = parseFloat(input.value);
      const correct = !isNaN(value) && Math.abs(value - q.value) <= q.tolerance + 1e-9 * Math.max(1, Math.abs(q.value));
      tally(q.id, correct);
      showResult(result, q, correct, isNaN(value) ? "<p>Type a number first.</p>" : "");
    });
    body.appendChild(input);
    body.appendChild(button);
  }

  function renderQuiz(container, data) {
    const status = {};
    const score = el("p", "lp-score");
    container.appendChild(score);
    function tally(id, correct) {
      status[id] = correct;
      const done = Object.keys(status).length;
      const right = Object.values(status).filter(Boolean).length;
      score.textContent = right + " right of " + done + " answered (" + data.questions.length + " questions)";
    }
    score.textContent = data.questions.length + " questions: choose an answer to check it.";
    data.questions.forEach((q, index) => {
      const card = el("section", "lp-question");
      card.id = "q-" + q.id;
      card.appendChild(el("div", "lp-number-label", "Question " + (index + 1)));
      card.appendChild(el("div", "lp-stem", q.stem));
      const body = el("div", "lp-body");
      const result = el("div", "lp-result");
      result.setAttribute("aria-live", "polite");
      card.appendChild(body);
      if (q.type === "numeric") renderNumeric(q, body, result, tally);
      else renderChoice(q, body, result, tally);
      card.appendChild(result);
      container.appendChild(card);
    });
  }

  function init() {
    document.querySelectorAll(".lp-quiz").forEach((container) => {
      const script = container.parentElement.querySelector("script.lp-quiz-data");
      if (!script || container.dataset.ready) return;
      container.dataset.ready = "1";
      renderQuiz(container, JSON.parse(script.textContent));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
