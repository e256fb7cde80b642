// Single choice: a bar per choice, each a share of the votes (the results template of the
// kind: polls/displays.py results_context). Registered in window.PollKinds, which the
// live results (polls/results.js) and the session pages (polls/session.js) ask.
(function () {
  "use strict";
  function draw(view, msg) {
    msg.choices.forEach(function (c) {
      var row = view.root.querySelector('[data-choice="' + c.id + '"]');
      if (row) view.tools.drawRow(row, c.votes, msg.total, view.tools.shareOf(c));
    });
  }

  function summary(view) {
    var parts = [];
    Array.prototype.forEach.call(view.root.querySelectorAll("[data-choice]"), function (row) {
      var name = row.querySelector(".choice-label");
      var pct = row.querySelector(".percent");
      if (name && pct) parts.push(name.textContent.trim() + " " + pct.textContent.trim() + "%");
    });
    return parts;
  }

  var kinds = (window.PollKinds = window.PollKinds || {});
  kinds.single = { draw: draw, summary: summary };
})();
