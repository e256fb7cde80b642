// Ranked choice. Its results: the runoff, round by round, as polls/displays.py
// ranked_view draws it (each round's bars, the rounds as a table, the first preferences
// and Borda points). Its ballot, better with JavaScript: the selects (one per rank) become
// a list to reorder by drag, by the keyboard or by buttons. The selects stay in the form,
// hidden, and follow every change, so the form posts exactly what it posts without this
// script. Every word it shows or announces comes from the catalogue, ordinals included.
(function () {
  "use strict";
  // Django's JavaScript catalogue (jsi18n), English without it (polls/i18n.js).
  var gettext = window.gettext;
  var interpolate = window.interpolate;
  var pgettext = window.pgettext;

  // 1st, 2nd... in the page's language, as polls/displays.py ordinal writes it: the
  // language's ordinal rule (CLDR, through Intl.PluralRules) picks one of four forms, each
  // written by the catalogue.
  var ordinalRule = null;
  function ordinal(n) {
    if (ordinalRule === null) {
      var language = document.documentElement.lang || "en";
      try {
        ordinalRule = new Intl.PluralRules(language, { type: "ordinal" });
      } catch (e) {
        ordinalRule = { select: function () { return "other"; } };
      }
    }
    var forms = {
      one: pgettext("ordinal: 1st, 21st, 31st", "%(n)sst"),
      two: pgettext("ordinal: 2nd, 22nd, 32nd", "%(n)snd"),
      few: pgettext("ordinal: 3rd, 23rd, 33rd", "%(n)srd"),
      other: pgettext("ordinal: 4th, 11th, 12th, 13th", "%(n)sth"),
    };
    return interpolate(forms[ordinalRule.select(n)] || forms.other, { n: n }, true);
  }

  // --- Its results --------------------------------------------------------------------

  var shareOf, h, paintBar;

  function sep() {
    var node = h("span", "sep", ["·"]);
    node.setAttribute("aria-hidden", "true");
    return node;
  }

  function decorative(tag, className) {
    var node = h(tag, className);
    node.setAttribute("aria-hidden", "true");
    return node;
  }

  function labelsOf(msg) {
    var labels = {};
    msg.choices.forEach(function (c) {
      labels[c.id] = c.label;
    });
    return labels;
  }

  function label(labels, id) {
    return labels[id] === undefined ? "" : labels[id];
  }

  function outcomeText(labels, rounds, winner) {
    // The same words as polls/displays.py (_outcome), in both catalogues.
    if (!rounds.length) return gettext("No ballots yet.");
    if (winner === null || winner === undefined) {
      return gettext("No winner: every ballot ran out of choices still in the count.");
    }
    if (rounds.length === 1) return interpolate(gettext("%(winner)s wins in the first round."), { winner: label(labels, winner) }, true);
    return interpolate(gettext("%(winner)s wins in round %(count)s."), { winner: label(labels, winner), count: rounds.length }, true);
  }

  function roundNote(labels, round, winner, last) {
    if (round.eliminated !== null && round.eliminated !== undefined) {
      return interpolate(gettext("%(choice)s eliminated"), { choice: label(labels, round.eliminated) }, true);
    }
    if (winner !== null && winner !== undefined) {
      return interpolate(gettext("%(choice)s has more than half"), { choice: label(labels, winner) }, true);
    }
    return last ? gettext("No ballots left in the count") : "";
  }

  function outflowText(labels, round) {
    var parts = round.transfers.map(function (t) {
      return label(labels, t.id) + " +" + t.votes;
    });
    if (round.transferred_to_exhausted) {
      parts.push(interpolate(gettext("exhausted +%(votes)s"), { votes: round.transferred_to_exhausted }, true));
    }
    return parts.length ? interpolate(gettext("Its ballots go to: %(parts)s"), { parts: parts.join(", ") }, true) : "";
  }

  function gainsOf(round) {
    var gained = {};
    if (round) {
      round.transfers.forEach(function (t) {
        gained[t.id] = t.votes;
      });
    }
    return gained;
  }

  function buildRound(msg, labels, index) {
    var rounds = msg.rounds;
    var round = rounds[index];
    var before = index ? rounds[index - 1] : null;
    var gained = gainsOf(before);
    var source = before ? label(labels, before.eliminated) : "";
    var last = index === rounds.length - 1;
    var active = round.counts.reduce(function (sum, c) {
      return sum + c.votes;
    }, 0);
    var note = roundNote(labels, round, last ? msg.winner : null, last);
    var item = h("li", "round", [
      h("h3", "round-head", [
        h("span", "round-name", [interpolate(gettext("Round %(number)s"), { number: index + 1 }, true)]),
        note ? " " : "",
        note ? h("span", "round-note", [note]) : null,
      ]),
    ]);
    item.dataset.round = String(index + 1);
    var rows = h("ul", "round-rows");
    round.counts.forEach(function (c) {
      var out = c.id === round.eliminated;
      var won = last && c.id === msg.winner;
      var gain = gained[c.id] || 0;
      var meter = h("progress", "meter", [shareOf(c) + "%"]);
      meter.max = active || 1;
      meter.value = c.votes;
      meter.setAttribute("aria-label", interpolate(gettext("%(label)s, round %(number)s"), { label: label(labels, c.id), number: index + 1 }, true));
      var bar = h("div", "bar", [
        meter,
        decorative("span", "fill"),
        decorative("span", "fill-gain"),
        decorative("span", "majority"),
      ]);
      bar.dataset.gain = String(gain);
      var outflow = out ? outflowText(labels, round) : "";
      var row = h("li", "round-row" + (out ? " eliminated" : "") + (won ? " winner" : ""), [
        h("div", "choice-head", [
          h("span", "choice-label", [
            label(labels, c.id),
            out ? " " : "",
            out ? h("span", "tag tag-out", [gettext("out")]) : null,
            won ? " " : "",
            won ? h("span", "tag tag-win", [gettext("winner")]) : null,
            gain ? " " : "",
            gain ? h("span", "gain", [interpolate(gettext("+%(gain)s from %(source)s"), { gain: gain, source: source }, true)]) : null,
          ]),
          h("span", "choice-numbers", [
            h("span", "percent", [shareOf(c)]),
            "%",
            sep(),
            h("span", "votes", [c.votes]),
            " ",
            h("span", "votes-unit", [c.votes === 1 ? gettext("vote") : gettext("votes")]),
          ]),
        ]),
        bar,
        outflow ? h("p", "outflow", [outflow]) : null,
      ]);
      row.dataset.roundChoice = String(c.id);
      rows.appendChild(row);
    });
    item.appendChild(rows);
    if (round.exhausted) {
      var fromBefore = before ? before.transferred_to_exhausted : 0;
      item.appendChild(
        h("p", "exhausted", [
          interpolate(gettext("Exhausted ballots (no choice left in the count): %(count)s"), { count: round.exhausted }, true),
          fromBefore ? " " : "",
          fromBefore ? h("span", "gain", [interpolate(gettext("+%(gain)s from %(source)s"), { gain: fromBefore, source: source }, true)]) : null,
        ])
      );
    }
    return item;
  }

  function buildRoundsTable(msg) {
    var rounds = msg.rounds;
    var head = h("tr", "", [th("col", gettext("Choice"))]);
    rounds.forEach(function (_, index) {
      head.appendChild(th("col", interpolate(gettext("Round %(number)s"), { number: index + 1 }, true)));
    });
    var body = h("tbody");
    msg.choices.forEach(function (choice) {
      var tr = h("tr", "", [th("row", choice.label)]);
      tr.dataset.tableChoice = String(choice.id);
      rounds.forEach(function (round, index) {
        var votes = null;
        round.counts.forEach(function (c) {
          if (c.id === choice.id) votes = c.votes;
        });
        if (votes === null) {
          tr.appendChild(h("td", "gone", ["–", h("span", "sr-only", [" (" + gettext("out") + ")"])]));
          return;
        }
        var gain = gainsOf(index ? rounds[index - 1] : null)[choice.id] || 0;
        var out = round.eliminated === choice.id;
        var won = index === rounds.length - 1 && msg.winner === choice.id;
        tr.appendChild(
          h("td", out ? "out" : won ? "won" : "", [
            votes,
            gain ? " " : "",
            gain ? h("span", "gain", ["+" + gain]) : null,
            out || won ? " " : "",
            out || won ? h("span", "cell-tag", [out ? gettext("out") : gettext("wins")]) : null,
          ])
        );
      });
      body.appendChild(tr);
    });
    var exhausted = h("tr", "exhausted-row", [th("row", gettext("Exhausted"))]);
    rounds.forEach(function (round) {
      exhausted.appendChild(h("td", "", [round.exhausted]));
    });
    body.appendChild(exhausted);
    return { head: head, body: body };
  }

  function th(scope, text) {
    var cell = h("th", "", [text]);
    cell.scope = scope;
    return cell;
  }

  function drawRounds(msg) {
    var labels = labelsOf(msg);
    var outcome = document.getElementById("outcome");
    outcome.textContent = outcomeText(labels, msg.rounds, msg.winner);
    outcome.className = "outcome" + (msg.winner ? " has-winner" : "");
    document.getElementById("runoff").hidden = !msg.rounds.length;

    // Rebuilt whole (the rounds come and go), each bar starting from where it was so
    // that the CSS transition slides it to its new width.
    var list = document.getElementById("rounds");
    var was = {};
    Array.prototype.forEach.call(list.querySelectorAll("[data-round-choice]"), function (row) {
      var key = row.closest(".round").dataset.round + ":" + row.dataset.roundChoice;
      var gainEl = row.querySelector(".fill-gain");
      was[key] = {
        fill: row.querySelector(".fill").style.width,
        left: gainEl.style.left,
        gain: gainEl.style.width,
      };
    });
    var fresh = document.createDocumentFragment();
    msg.rounds.forEach(function (_, index) {
      fresh.appendChild(buildRound(msg, labels, index));
    });
    var bars = [];
    Array.prototype.forEach.call(fresh.querySelectorAll("[data-round-choice]"), function (row) {
      var key = row.closest(".round").dataset.round + ":" + row.dataset.roundChoice;
      var before = was[key] || { fill: "0%", left: "0%", gain: "0%" };
      var gainEl = row.querySelector(".fill-gain");
      row.querySelector(".fill").style.width = before.fill || "0%";
      gainEl.style.left = before.left || "0%";
      gainEl.style.width = before.gain || "0%";
      bars.push(row.querySelector(".bar"));
    });
    list.textContent = "";
    list.appendChild(fresh);
    void list.offsetWidth; // lay out the old widths first, then animate to the new ones
    bars.forEach(function (bar) {
      var meter = bar.querySelector(".meter");
      paintBar(bar, meter.value, parseInt(bar.dataset.gain, 10) || 0, meter.max);
    });

    var table = document.getElementById("rounds-table");
    var parts = buildRoundsTable(msg);
    var thead = table.querySelector("thead");
    thead.textContent = "";
    thead.appendChild(parts.head);
    table.replaceChild(parts.body, table.querySelector("tbody"));

    var prefs = h("tbody");
    msg.choices.forEach(function (c) {
      var tr = h("tr", "", [
        th("row", c.label),
        h("td", "", [
          h("span", "votes", [c.votes]),
          " ",
          h("span", "share", ["(" + shareOf(c) + "%)"]),
        ]),
        h("td", "borda", [c.borda]),
      ]);
      tr.dataset.prefChoice = String(c.id);
      prefs.appendChild(tr);
    });
    var prefsTable = document.getElementById("prefs-table");
    prefsTable.replaceChild(prefs, prefsTable.querySelector("tbody"));
  }

  function draw(view, msg) {
    shareOf = view.tools.shareOf;
    h = view.tools.h;
    paintBar = view.tools.paintBar;
    drawRounds(msg);
  }

  function summary() {
    var outcome = document.getElementById("outcome");
    return outcome ? [outcome.textContent.trim()] : [];
  }

  // --- Its ballot, in `root` (a page, or a session's part swapped in) -----------------

  function ballot(root) {
    var selectsBox = root.querySelector(".rank-selects");
    if (!selectsBox) return;
    var form = selectsBox.closest("form");
    var fieldset = selectsBox.closest("fieldset");
    var selects = Array.prototype.slice.call(selectsBox.querySelectorAll("select"));
    var capacity = selects.length; // the poll's max_ranks
    var disabled = fieldset.disabled;

    var labels = {};
    var order = []; // every choice id, in the poll's order
    Array.prototype.forEach.call(selects[0].options, function (option) {
      if (!option.value) return;
      labels[option.value] = option.textContent.trim();
      order.push(option.value);
    });
    var ranking = [];
    selects.forEach(function (select) {
      var id = select.value;
      if (id && labels[id] && ranking.indexOf(id) < 0) ranking.push(id);
    });

    function make(tag, className, text) {
      var node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined) node.textContent = text;
      return node;
    }

    function iconButton(className, text, label) {
      var button = make("button", "rank-button " + className, text);
      button.type = "button";
      button.tabIndex = -1; // the item is the keyboard's stop; buttons are for pointers
      button.setAttribute("aria-label", label);
      button.disabled = disabled;
      return button;
    }

    // The list that replaces the selects.
    var ranker = make("div", "ranker");
    var help = make(
      "p",
      "hint ranker-help",
      disabled
        ? gettext("Your ranking, as stored.")
        : gettext(
            "Tap the choices in the order you prefer them; drag to reorder. Keyboard: Tab to a choice, Enter ranks it, arrow keys move it, Delete takes it out."
          )
    );
    help.id = "ranker-help";
    var rankedTitle = make("h2", "ranker-title", gettext("Your ranking"));
    rankedTitle.id = "ranked-title";
    var rankedList = make("ol", "ranked");
    rankedList.setAttribute("aria-labelledby", "ranked-title");
    var emptyNote = make("p", "ranked-empty", gettext("Nothing ranked yet."));
    var unrankedTitle = make("h2", "ranker-title", gettext("Not ranked"));
    unrankedTitle.id = "unranked-title";
    var unrankedList = make("ul", "unranked");
    unrankedList.setAttribute("aria-labelledby", "unranked-title");
    var status = make("p", "ranker-status");
    status.id = "ranker-status";
    status.setAttribute("role", "status"); // announced by screen readers
    status.setAttribute("aria-live", "polite");
    [help, rankedTitle, rankedList, emptyNote, unrankedTitle, unrankedList, status].forEach(
      function (node) {
        ranker.appendChild(node);
      }
    );
    selectsBox.parentNode.insertBefore(ranker, selectsBox);
    selectsBox.hidden = true;
    // Hidden, a required select would stop the form with no message a person can see.
    selects[0].required = false;

    var items = {};
    order.forEach(function (id) {
      var item = make("li", "rank-item");
      item.dataset.id = id;
      if (!disabled) item.tabIndex = 0;
      item.setAttribute("aria-describedby", "ranker-help");
      items[id] = item;
    });

    function say(text) {
      // Cleared first, so that the same words said twice are announced twice.
      status.textContent = "";
      setTimeout(function () {
        status.textContent = text;
      }, 30);
    }

    function sync() {
      selects.forEach(function (select, index) {
        select.value = ranking[index] || "";
      });
    }

    function draw() {
      ranking.forEach(function (id, index) {
        var item = items[id];
        var name = labels[id];
        item.textContent = "";
        item.classList.add("is-ranked");
        item.setAttribute("aria-label", interpolate(gettext("%(name)s, %(ordinal)s choice"), { name: name, ordinal: ordinal(index + 1) }, true));
        var grip = make("span", "grip");
        grip.setAttribute("aria-hidden", "true");
        item.appendChild(grip);
        item.appendChild(make("span", "rank-badge", ordinal(index + 1)));
        item.appendChild(make("span", "rank-name", name));
        var buttons = make("span", "rank-buttons");
        var up = iconButton("up", "↑", interpolate(gettext("Move %(name)s up"), { name: name }, true));
        up.disabled = disabled || index === 0;
        var down = iconButton("down", "↓", interpolate(gettext("Move %(name)s down"), { name: name }, true));
        down.disabled = disabled || index === ranking.length - 1;
        buttons.appendChild(up);
        buttons.appendChild(down);
        buttons.appendChild(iconButton("remove", "×", interpolate(gettext("Take %(name)s out of your ranking"), { name: name }, true)));
        item.appendChild(buttons);
        rankedList.appendChild(item); // appending in order moves it into place
      });
      var full = ranking.length >= capacity;
      order.forEach(function (id) {
        if (ranking.indexOf(id) >= 0) return;
        var item = items[id];
        var name = labels[id];
        item.textContent = "";
        item.classList.remove("is-ranked");
        item.setAttribute("aria-label", interpolate(gettext("%(name)s, not ranked"), { name: name }, true));
        item.appendChild(make("span", "rank-name", name));
        var add = iconButton("add", gettext("Rank"), interpolate(gettext("Rank %(name)s"), { name: name }, true));
        add.disabled = disabled || full;
        item.appendChild(add);
        unrankedList.appendChild(item);
      });
      emptyNote.hidden = ranking.length > 0;
      unrankedTitle.hidden = unrankedList.children.length === 0;
    }

    function changed(focusId, message) {
      sync();
      draw();
      if (focusId && items[focusId]) items[focusId].focus();
      if (message) say(message);
    }

    function add(id) {
      if (ranking.length >= capacity) {
        say(interpolate(gettext("Your ranking is full: you can rank %(capacity)s choices at most."), { capacity: capacity }, true));
        return;
      }
      // The keyboard stays in the list of choices not yet ranked, to rank the next one.
      var rest = order.filter(function (other) {
        return ranking.indexOf(other) < 0;
      });
      var next = rest[rest.indexOf(id) + 1] || rest[rest.indexOf(id) - 1];
      ranking.push(id);
      if (ranking.length >= capacity || !next) next = id;
      changed(next, interpolate(gettext("%(name)s ranked %(ordinal)s."), { name: labels[id], ordinal: ordinal(ranking.length) }, true));
    }

    function move(id, to) {
      var from = ranking.indexOf(id);
      if (to < 0 || to >= ranking.length) {
        say(interpolate(gettext("%(name)s is already %(ordinal)s."), { name: labels[id], ordinal: ordinal(from + 1) }, true));
        return;
      }
      ranking.splice(from, 1);
      ranking.splice(to, 0, id);
      changed(id, interpolate(gettext("%(name)s moved to %(ordinal)s choice."), { name: labels[id], ordinal: ordinal(to + 1) }, true));
    }

    function remove(id) {
      var from = ranking.indexOf(id);
      ranking.splice(from, 1);
      var next = ranking[from] || ranking[from - 1] || id;
      changed(next, interpolate(gettext("%(name)s taken out of your ranking."), { name: labels[id] }, true));
    }

    if (!disabled) {
      ranker.addEventListener("click", function (event) {
        var item = event.target.closest(".rank-item");
        if (!item || justDragged) return;
        var id = item.dataset.id;
        var button = event.target.closest("button");
        if (!item.classList.contains("is-ranked")) {
          add(id); // a tap anywhere on a choice ranks it next
        } else if (button && button.classList.contains("up")) {
          move(id, ranking.indexOf(id) - 1);
        } else if (button && button.classList.contains("down")) {
          move(id, ranking.indexOf(id) + 1);
        } else if (button && button.classList.contains("remove")) {
          remove(id);
        }
      });

      ranker.addEventListener("keydown", function (event) {
        var item = event.target;
        if (!item.classList || !item.classList.contains("rank-item")) return;
        var id = item.dataset.id;
        var at = ranking.indexOf(id);
        var key = event.key;
        if (at < 0) {
          if (key !== "Enter" && key !== " ") return;
          add(id);
        } else if (key === "ArrowUp" || key === "ArrowLeft") {
          move(id, at - 1);
        } else if (key === "ArrowDown" || key === "ArrowRight") {
          move(id, at + 1);
        } else if (key === "Home") {
          move(id, 0);
        } else if (key === "End") {
          move(id, ranking.length - 1);
        } else if (key === "Delete" || key === "Backspace") {
          remove(id);
        } else {
          return;
        }
        event.preventDefault(); // no page scroll, no form submit
      });

      form.addEventListener("submit", function (event) {
        if (ranking.length) return;
        event.preventDefault();
        say(gettext("Rank at least one choice first."));
        var first = unrankedList.querySelector(".rank-item");
        if (first) first.focus();
      });
    }

    // Dragging, with a mouse, a pen or a finger (pointer events; a finger drags by the grip,
    // so that the page still scrolls). The item follows the pointer and takes the place of
    // the items it passes.
    var drag = null;
    var justDragged = false;

    function middle(node) {
      var box = node.getBoundingClientRect();
      return box.top + box.height / 2;
    }

    function follow(y) {
      var item = drag.item;
      var before;
      var after;
      while ((before = item.previousElementSibling) && y < middle(before)) {
        rankedList.insertBefore(item, before);
      }
      while ((after = item.nextElementSibling) && y > middle(after)) {
        rankedList.insertBefore(after, item);
      }
      item.style.transform = "";
      var top = item.getBoundingClientRect().top;
      // Through the CSSOM, which a Content-Security-Policy without 'unsafe-inline' allows.
      item.style.transform = "translateY(" + (y - drag.grab - top) + "px)";
    }

    function drop() {
      var item = drag.item;
      item.style.transform = "";
      item.classList.remove("dragging");
      var moved = drag.moved;
      drag = null;
      if (!moved) return;
      // A click follows the pointer's release: it must not count as a tap.
      justDragged = true;
      setTimeout(function () {
        justDragged = false;
      }, 0);
      var id = item.dataset.id;
      ranking = Array.prototype.map.call(rankedList.children, function (node) {
        return node.dataset.id;
      });
      changed(id, interpolate(gettext("%(name)s moved to %(ordinal)s choice."), { name: labels[id], ordinal: ordinal(ranking.indexOf(id) + 1) }, true));
    }

    if (!disabled) {
      rankedList.addEventListener("pointerdown", function (event) {
        var item = event.target.closest(".rank-item");
        if (!item || event.button !== 0 || event.target.closest("button")) return;
        if (event.pointerType !== "mouse" && !event.target.closest(".grip")) return;
        event.preventDefault(); // no text selection, no scrolling while dragging
        drag = {
          item: item,
          grab: event.clientY - item.getBoundingClientRect().top,
          startY: event.clientY,
          moved: false,
          pointer: event.pointerId,
        };
        item.setPointerCapture(event.pointerId);
        item.classList.add("dragging");
      });
      rankedList.addEventListener("pointermove", function (event) {
        if (!drag || event.pointerId !== drag.pointer) return;
        if (Math.abs(event.clientY - drag.startY) > 4) drag.moved = true;
        if (drag.moved) follow(event.clientY);
      });
      rankedList.addEventListener("pointerup", function (event) {
        if (drag && event.pointerId === drag.pointer) drop();
      });
      rankedList.addEventListener("pointercancel", function (event) {
        if (drag && event.pointerId === drag.pointer) drop();
      });
    }

    sync();
    draw();
  }

  var kinds = (window.PollKinds = window.PollKinds || {});
  kinds.ranked = { draw: draw, summary: summary, ballot: ballot };
  ballot(document); // a page's own form, as it loads (a session's next ones: session.js)
})();
