// Assessment form: show and hide items by enableWhen, and the running score as the nurse types.
// The score, band and plausibility messages come from the server (POST .../preview), which
// scores with the same rules as when the assessment is recorded: no scoring rules live here.
(function () {
  "use strict";
  var form = document.getElementById("assessment-form");
  if (!form) { return; }
  var output = document.getElementById("running-score");
  var previewUrl = form.getAttribute("data-preview-url");
  var timer = null;
  var sequence = 0;

  function value(name) {
    var checked = form.querySelector('input[type="radio"][name="' + name + '"]:checked');
    if (checked) { return checked.value; }
    var input = form.querySelector('input[type="text"][name="' + name + '"]');
    return input ? input.value.trim() : "";
  }

  function applyEnableWhen() {
    form.querySelectorAll(".field[data-enable-question]").forEach(function (field) {
      var shown = value(field.getAttribute("data-enable-question")) ===
        field.getAttribute("data-enable-answer");
      field.hidden = !shown;
      field.querySelectorAll("input").forEach(function (input) { input.disabled = !shown; });
    });
  }

  function text(tag, content, className) {
    var node = document.createElement(tag);
    node.textContent = content;
    if (className) { node.className = className; }
    return node;
  }

  function show(result) {
    form.querySelectorAll(".field").forEach(function (field) {
      var id = field.getAttribute("data-link-id");
      var problem = result.problems[id];
      var message = document.getElementById("f-" + id + "-problem");
      var points = document.getElementById("f-" + id + "-points");
      message.hidden = !problem;
      message.textContent = problem || "";
      field.classList.toggle("has-problem", Boolean(problem));
      field.querySelectorAll("input").forEach(function (input) {
        if (problem) { input.setAttribute("aria-invalid", "true"); }
        else { input.removeAttribute("aria-invalid"); }
      });
      if (points) {
        var given = result.points[id];
        points.textContent = (given === undefined || problem) ? "" : "scores " + given;
        points.className = "points" + (given === undefined || !result.news2 ? "" : " level-" + given);
      }
    });
    output.replaceChildren();
    if (!result.scored) {
      output.appendChild(text("p", result.answered + " answered" +
        (result.missing.length ? "; still to answer: " + result.missing.join(", ") : "; complete"),
        "score-line"));
      return;
    }
    if (result.total !== null) {
      var line = text("p", "", "score-line");
      var score = text("span", String(result.total), "score level-" + (result.level || 0));
      score.id = "live-score";
      score.appendChild(text("span", result.bandWords || "", "band"));
      line.appendChild(score);
      output.appendChild(line);
      if (result.response) { output.appendChild(text("p", result.response)); }
    } else if (result.answered === 0) {
      output.appendChild(text("p", "Nothing entered yet.", "score-line"));
    } else {
      var problems = Object.keys(result.problems).length;
      output.appendChild(text("p", "Incomplete: no score yet (" + result.partialTotal +
        " points so far).", "score-line"));
      if (problems) { output.appendChild(text("p", "Check " + problems + " reading" + (problems > 1 ? "s" : "") + " above.", "missing")); }
      if (result.missing.length) {
        output.appendChild(text("p", "Still to record: " + result.missing.join(", ") + ".", "missing"));
      }
    }
  }

  function preview() {
    var mine = ++sequence;
    var body = new URLSearchParams(new FormData(form));
    fetch(previewUrl, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (result) {
        if (mine !== sequence || result.error) { return; }  // a newer answer is on its way
        show(result);
      })
      .catch(function () {
        output.replaceChildren(text("p", "The score cannot be checked just now; it is still " +
          "scored when you record.", "score-line"));
      });
  }

  function changed() {
    applyEnableWhen();
    window.clearTimeout(timer);
    timer = window.setTimeout(preview, 250);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  applyEnableWhen();
  preview();
}());
