// Open answers: a wall of cards (one per answer given, with how many gave it), newest first
// as the server renders them; this redraws them from later snapshots, orders them newest
// or most common first (a toggle, kept per page), and on the presenter's screen shows one
// card big when clicked (Esc or a click closes it). Text is text: cards are built from
// text nodes only. Its ballot's character count and the totals are polls/text-entries.js's,
// loaded before it.
(function () {
  "use strict";
  var gettext = window.gettext;
  var ngettext = window.ngettext;
  var interpolate = window.interpolate;
  var kinds = (window.PollKinds = window.PollKinds || {});

  function presenting() {
    var page = document.getElementById("session");
    return !!page && page.dataset.role === "present";
  }

  function cardsOf(root) {
    return Array.prototype.map.call(root.querySelectorAll("#cards .answer-card"), function (li) {
      return {
        text: li.querySelector(".answer-text").textContent,
        count: parseInt(li.dataset.count, 10) || 1,
        newest: parseInt(li.dataset.newest, 10) || 0,
      };
    });
  }

  function ordered(root, cards) {
    var byCount = root.dataset.order === "common";
    return cards.slice().sort(function (a, b) {
      return byCount ? b.count - a.count || b.newest - a.newest : b.newest - a.newest;
    });
  }

  function drawCards(view, cards) {
    var h = view.tools.h;
    var root = view.root;
    var list = root.querySelector("#cards");
    var seen = {};
    cardsOf(root).forEach(function (c) {
      seen[c.newest + "|" + c.count] = true;
    });
    var big = presenting();
    var items = ordered(root, cards).map(function (c) {
      var text = h("p", "answer-text", [c.text]);
      var count = null;
      if (c.count > 1) {
        var times = h("span", "", ["×" + c.count]);
        times.setAttribute("aria-hidden", "true");
        var said = interpolate(ngettext("given %(counter)s time", "given %(counter)s times", c.count), { counter: c.count }, true);
        count = h("p", "answer-count", [times, h("span", "sr-only", [said])]);
      }
      var body = big ? [spotlightButton(h, c, [text, count])] : [text, count];
      var li = h("li", "answer-card", body);
      li.dataset.newest = String(c.newest);
      li.dataset.count = String(c.count);
      if (!seen[c.newest + "|" + c.count]) li.classList.add("bump");
      return li;
    });
    list.replaceChildren.apply(list, items);
  }

  function draw(view, msg) {
    var root = view.root;
    window.TextEntries.drawTotals(view, msg, "answers");
    drawCards(view, msg.cards || []);
    var empty = root.querySelector("#answers-empty");
    if (empty) empty.hidden = (msg.cards || []).length > 0;
    var more = root.querySelector("#answers-more");
    if (more) {
      more.hidden = !msg.left_out;
      more.textContent = interpolate(
        ngettext("And %(counter)s more answer, not shown here.", "And %(counter)s more answers, not shown here.", msg.left_out || 0),
        { counter: msg.left_out || 0 },
        true,
      );
    }
  }

  // --- The presenter: one card on the big screen -----------------------------------------

  function spotlightButton(h, card, children) {
    var button = h("button", "answer-spotlight", children);
    button.type = "button";
    button.title = gettext("Show this answer big");
    button.addEventListener("click", function () {
      spotlight(h, card.text);
    });
    return button;
  }

  function spotlight(h, text) {
    var shown = document.getElementById("spotlight");
    if (shown) shown.remove();
    var back = document.activeElement;
    var close = h("button", "spotlight-close", [gettext("Close")]);
    close.type = "button";
    var box = h("div", "spotlight", [h("p", "spotlight-text", [text]), close]);
    box.id = "spotlight";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-label", gettext("An answer, shown big"));
    function done() {
      box.remove();
      document.removeEventListener("keydown", onKey, true);
      if (back && back.isConnected) back.focus();
    }
    function onKey(event) {
      if (event.key === "Escape" || event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        event.stopPropagation(); // not the presenter's own shortcuts
        done();
      }
    }
    close.addEventListener("click", done);
    box.addEventListener("click", function (event) {
      if (event.target === box) done();
    });
    document.addEventListener("keydown", onKey, true);
    document.body.appendChild(box);
    close.focus();
  }

  // --- Set up, once per results section -----------------------------------------------

  function init(view) {
    var root = view.root;
    var order = root.querySelector(".answers-order");
    if (!order) return;
    order.hidden = false;
    root.dataset.order = root.dataset.order || "newest";
    order.addEventListener("click", function (event) {
      var button = event.target.closest("[data-order]");
      if (!button) return;
      root.dataset.order = button.dataset.order;
      Array.prototype.forEach.call(order.querySelectorAll("[data-order]"), function (b) {
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
      drawCards(view, cardsOf(root));
    });
    if (presenting()) drawCards(view, cardsOf(root)); // each card a button to show it big
  }

  function summary(view) {
    var cards = cardsOf(view.root);
    if (!cards.length) return [];
    var newest = ordered({ dataset: {} }, cards)[0].text;
    return [interpolate(gettext("Newest answer: %(text)s"), { text: newest.length > 80 ? newest.slice(0, 79) + "…" : newest }, true)];
  }

  kinds.openanswer = { draw: draw, init: init, summary: summary };
})();
