// Multiple choice: the single choice's bars, each a share of the voters, with a note that
// the shares can add up to more than 100%; and its ballot, better with JavaScript: a count
// of the picks as they are made, and the other boxes unavailable once the most allowed are
// picked (the server checks the number of picks either way).
(function () {
  "use strict";
  // Django's JavaScript catalogue (jsi18n), English without it (polls/i18n.js).
  var gettext = window.gettext;
  var interpolate = window.interpolate;
  var kinds = (window.PollKinds = window.PollKinds || {});

  function draw(view, msg) {
    msg.choices.forEach(function (c) {
      var row = view.root.querySelector('[data-choice="' + c.id + '"]');
      if (row) view.tools.drawRow(row, c.votes, msg.total, view.tools.shareOf(c));
    });
    var note = document.getElementById("shares-note");
    if (!note) return;
    note.querySelector(".voters").textContent = msg.total;
    note.querySelector(".voters-unit").textContent = view.tools.unitOf(view.totalUnit, msg.total);
  }

  function summary(view) {
    return kinds.single ? kinds.single.summary(view) : [];
  }

  // The ballot in `root` (a page, or a session's part swapped in).
  function ballot(root) {
    var hint = root.querySelector("#picks-hint");
    if (!hint) return;
    var fieldset = hint.closest("fieldset");
    if (fieldset.disabled) return;
    var boxes = Array.prototype.slice.call(fieldset.querySelectorAll('input[name="choices"]'));
    var low = parseInt(hint.dataset.min, 10) || 1;
    var high = parseInt(hint.dataset.max, 10) || boxes.length;

    var count = document.createElement("p");
    count.className = "hint picks-count";
    count.id = "picks-count";
    count.setAttribute("role", "status");
    hint.parentNode.insertBefore(count, hint.nextSibling);

    function update() {
      var picked = boxes.filter(function (box) {
        return box.checked;
      }).length;
      var full = picked >= high;
      if (high < boxes.length) {
        boxes.forEach(function (box) {
          box.disabled = full && !box.checked;
        });
      }
      var text = picked ? interpolate(gettext("%(picked)s picked"), { picked: picked }, true) : gettext("None picked yet");
      if (picked < low && (picked || low > 1)) {
        text = interpolate(gettext("%(text)s: pick %(more)s more."), { text: text, more: low - picked }, true);
      } else if (full && high < boxes.length) {
        text = interpolate(gettext("%(text)s: that is the most you can pick."), { text: text }, true);
      } else {
        text = interpolate(gettext("%(text)s."), { text: text }, true);
      }
      count.textContent = text;
    }

    fieldset.addEventListener("change", update);
    update();
  }

  kinds.multiple = { draw: draw, summary: summary, ballot: ballot };
  ballot(document); // a page's own form, as it loads (a session's next ones: session.js)
})();
