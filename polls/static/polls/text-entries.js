// What the text kinds' scripts share (kinds/wordcloud.js, kinds/openanswer.js; issue 33),
// loaded before them wherever they are (TextKind.scripts): an entry's characters counted
// as people see them (Intl.Segmenter) as the voter types, the server deciding; and a
// snapshot's totals drawn into a results section.
(function () {
  "use strict";
  if (window.TextEntries) return;
  var gettext = window.gettext;
  var interpolate = window.interpolate;

  // --- The ballot: characters counted as people see them --------------------------------

  var segmenter = window.Intl && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;
  function length(text) {
    text = text.replace(/\s+/g, " ").trim(); // as the server normalises spaces
    return Array.from(segmenter ? segmenter.segment(text) : text).length;
  }
  document.addEventListener("input", function (event) {
    var input = event.target;
    var holder = input.closest && input.closest(".text-entries");
    if (!holder) return;
    var limit = parseInt(holder.dataset.maxLength, 10) || 0;
    var counter = input.parentNode.querySelector(".text-count");
    var n = length(input.value);
    var over = limit && n > limit;
    if (counter) {
      counter.hidden = false;
      counter.textContent = n + "/" + limit;
      counter.classList.toggle("over", !!over);
    }
    input.setCustomValidity(
      over ? interpolate(gettext("At most %(limit)s characters: this has %(count)s."), { limit: limit, count: n }, true) : "",
    );
    input.setAttribute("aria-invalid", over ? "true" : "false");
  });

  // --- The results: the totals a snapshot carries ---------------------------------------

  function drawTotals(view, msg, prefix) {
    // #<prefix>-entries (with its unit) and #<prefix>-distinct, where the section has them.
    var root = view.root;
    var entries = root.querySelector("#" + prefix + "-entries");
    if (!entries) return;
    entries.textContent = msg.entries;
    var unit = root.querySelector("#" + prefix + "-entries-unit");
    unit.textContent = view.tools.unitOf(unit, msg.entries);
    root.querySelector("#" + prefix + "-distinct").textContent = msg.distinct;
  }

  window.TextEntries = { drawTotals: drawTotals };
})();
