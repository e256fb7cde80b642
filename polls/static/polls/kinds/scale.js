// Rating scale: mean, median and, on 0-10, the NPS; the distribution as columns (the
// tallest full height), drawn as polls/displays.py scale_view draws it.
(function () {
  "use strict";
  var gettext = window.gettext;

  function numberText(value) {
    // At most two decimals, none when whole: as the server writes it.
    return value === null || value === undefined ? "–" : String(Math.round(value * 100) / 100);
  }

  function npsText(value) {
    if (value === null || value === undefined) return "–";
    return value > 0 ? "+" + value : String(value).replace("-", "\u2212"); // a minus sign
  }

  function draw(view, msg) {
    var tools = view.tools;
    document.getElementById("scale-mean").textContent = numberText(msg.mean);
    document.getElementById("scale-median").textContent = numberText(msg.median);
    var nps = document.getElementById("scale-nps");
    if (nps) nps.textContent = npsText(msg.nps);
    var tallest = msg.values.reduce(function (most, v) {
      return Math.max(most, v.votes);
    }, 0);
    msg.values.forEach(function (v) {
      var column = view.root.querySelector('[data-value="' + v.value + '"]');
      if (!column) return;
      var votesEl = column.querySelector(".votes");
      if (votesEl.textContent !== String(v.votes)) {
        votesEl.textContent = v.votes;
        tools.bump(column);
      }
      var unit = column.querySelector(".votes-unit");
      unit.textContent = tools.unitOf(unit, v.votes);
      var pct = tools.shareOf(v);
      column.querySelector(".percent").textContent = pct;
      var meter = column.querySelector(".meter");
      meter.max = tallest || 1;
      meter.value = v.votes;
      meter.textContent = pct + "%";
      tools.paintColumn(column, v.votes, tallest);
    });
  }

  function summary() {
    var mean = document.getElementById("scale-mean");
    return mean ? [gettext("Mean") + " " + mean.textContent.trim()] : [];
  }

  var kinds = (window.PollKinds = window.PollKinds || {});
  kinds.scale = { draw: draw, summary: summary };
})();
