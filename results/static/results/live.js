// Live results: the server sends a snapshot on connect, then every newer snapshot (by
// seq). While the socket is down the page says so and reconnects with exponential
// backoff and full jitter; the snapshot sent on every (re)connect re-syncs it.
// Without this script the page is still correct: a reload shows current totals.
// Each kind of question is drawn by its own function, with the markup and the words the
// server renders (results/templates/results/_results_<kind>.html, polls/displays.py).
// Session pages (polls/static/polls/session.js) hand their own socket's messages to
// LiveResults.attach(root).render instead.
(function () {
  "use strict";
  // Django's JavaScript catalogue (jsi18n), English without it (polls/i18n.js).
  var gettext = window.gettext;
  var interpolate = window.interpolate;
  var pgettext = window.pgettext;
  function stateName(state) {
    // As polls/templates/polls/_state.html says it.
    var names = {
      open: pgettext("poll state", "open"),
      scheduled: pgettext("poll state", "scheduled"),
      closed: pgettext("poll state", "closed"),
      draft: pgettext("poll state", "draft"),
    };
    return names[state] || state;
  }

  // Draws one #results section from the snapshots handed to render().
  function attach(root) {
    var total = root.querySelector("#total");
    var totalUnit = root.querySelector("#total-unit");
    var statusEl = root.querySelector("#poll-status");
    var seq = parseInt(root.dataset.seq || "-1", 10);
    var kind = root.dataset.kind || "single";

    function shareOf(item) {
      // The server's share (polls/counting.py shares: one rounding rule everywhere, adding
      // up to 100), never one computed here. A number prints as floatformat:"-1" does.
      return typeof item.percent === "number" ? item.percent : 0;
    }

    function unitOf(node, count) {
      // Single choice: "vote"; the other kinds name their unit on the element.
      return count === 1 ? node.dataset.one || gettext("vote") : node.dataset.many || gettext("votes");
    }

    function bump(node) {
      // Restart the highlight so the eye finds what just changed.
      node.classList.remove("bump");
      void node.offsetWidth;
      node.classList.add("bump");
    }

    function drawRow(row, votes, sum, pct) {
      var votesEl = row.querySelector(".votes");
      if (votesEl.textContent !== String(votes)) {
        votesEl.textContent = votes;
        bump(row);
      }
      var unit = row.querySelector(".votes-unit");
      unit.textContent = unitOf(unit, votes);
      row.querySelector(".percent").textContent = pct;
      var meter = row.querySelector(".meter");
      meter.max = sum || 1;
      meter.value = votes;
      meter.textContent = pct + "%";
      // Set through the CSSOM, which a Content-Security-Policy without
      // 'unsafe-inline' still allows; the CSS transition animates the change.
      row.querySelector(".fill").style.width = pct + "%";
    }

    // "updated N s ago": counted from the last snapshot received (each one is current).
    var updated = root.querySelector("#updated") || document.getElementById("updated");
    var updatedAt = null;
    function showUpdated() {
      if (!updated || updatedAt === null) return;
      var seconds = Math.floor((Date.now() - updatedAt) / 1000);
      updated.textContent =
        seconds < 3 ? gettext("updated just now") : interpolate(gettext("updated %(seconds)s s ago"), { seconds: seconds }, true);
    }
    setInterval(showUpdated, 1000);

    function render(msg) {
      // seq only grows per poll: anything older than what is shown is stale.
      if (!msg || msg.type !== "results" || typeof msg.seq !== "number" || msg.seq < seq) return;
      updatedAt = Date.now();
      showUpdated();
      if ((msg.kind || "single") !== kind) {
        // The organiser changed the poll's kind (possible before any ballot): another layout.
        location.reload();
        return;
      }
      seq = msg.seq;
      root.dataset.seq = String(seq);
      total.textContent = msg.total;
      totalUnit.textContent = unitOf(totalUnit, msg.total);
      if (statusEl) {
        statusEl.textContent = stateName(msg.status);
        statusEl.className = "pill status-" + msg.status;
      }
      if (kind === "ranked") {
        drawRanked(msg);
      } else if (kind === "scale") {
        drawScale(msg);
      } else {
        msg.choices.forEach(function (c) {
          var row = root.querySelector('[data-choice="' + c.id + '"]');
          if (row) drawRow(row, c.votes, msg.total, shareOf(c));
        });
      }
      if (kind === "multiple") {
        var note = document.getElementById("shares-note");
        note.querySelector(".voters").textContent = msg.total;
        note.querySelector(".voters-unit").textContent = unitOf(totalUnit, msg.total);
      }
    }

    // --- Building blocks for the kinds drawn from scratch -------------------------------

    function h(tag, className, children) {
      var node = document.createElement(tag);
      if (className) node.className = className;
      (children || []).forEach(function (child) {
        if (child === null || child === undefined || child === false || child === "") return;
        node.appendChild(
          typeof child === "object" ? child : document.createTextNode(String(child))
        );
      });
      return node;
    }

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

    function paintBar(bar, votes, gain, max) {
      // The part a choice had, and the part it gained this round, side by side.
      var base = (100 * Math.max(0, votes - gain)) / (max || 1);
      var gained = (100 * gain) / (max || 1);
      bar.querySelector(".fill").style.width = base + "%";
      var gainEl = bar.querySelector(".fill-gain");
      if (gainEl) {
        gainEl.style.left = base + "%";
        gainEl.style.width = gained + "%";
      }
    }

    function paintColumn(column, votes, max) {
      column.querySelector(".fill").style.height = (100 * votes) / (max || 1) + "%";
    }

    // --- Ranked choice: the runoff, round by round (results/views.py ranked_view) -------

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
        meter.setAttribute("aria-label", label(labels, c.id) + ", round " + (index + 1));
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

    function drawRanked(msg) {
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

    // --- Rating scale: the distribution as columns (results/views.py scale_view) --------

    function numberText(value) {
      // At most two decimals, none when whole: as the server writes it.
      return value === null || value === undefined ? "–" : String(Math.round(value * 100) / 100);
    }

    function npsText(value) {
      if (value === null || value === undefined) return "–";
      return value > 0 ? "+" + value : String(value).replace("-", "\u2212"); // a minus sign
    }

    function drawScale(msg) {
      document.getElementById("scale-mean").textContent = numberText(msg.mean);
      document.getElementById("scale-median").textContent = numberText(msg.median);
      var nps = document.getElementById("scale-nps");
      if (nps) nps.textContent = npsText(msg.nps);
      var tallest = msg.values.reduce(function (most, v) {
        return Math.max(most, v.votes);
      }, 0);
      msg.values.forEach(function (v) {
        var column = root.querySelector('[data-value="' + v.value + '"]');
        if (!column) return;
        var votesEl = column.querySelector(".votes");
        if (votesEl.textContent !== String(v.votes)) {
          votesEl.textContent = v.votes;
          bump(column);
        }
        var unit = column.querySelector(".votes-unit");
        unit.textContent = unitOf(unit, v.votes);
        var pct = shareOf(v);
        column.querySelector(".percent").textContent = pct;
        var meter = column.querySelector(".meter");
        meter.max = tallest || 1;
        meter.value = v.votes;
        meter.textContent = pct + "%";
        paintColumn(column, v.votes, tallest);
      });
    }

    // Draw the bars from the numbers the server rendered, then switch the page to them.
    Array.prototype.forEach.call(root.querySelectorAll("[data-choice]"), function (row) {
      var meter = row.querySelector(".meter");
      var sum = parseInt(total.textContent, 10) || 0;
      drawRow(row, meter.value, sum);
      row.classList.remove("bump");
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-round-choice] .bar"), function (bar) {
      var meter = bar.querySelector(".meter");
      paintBar(bar, meter.value, parseInt(bar.dataset.gain, 10) || 0, meter.max);
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-value]"), function (column) {
      var meter = column.querySelector(".meter");
      paintColumn(column, meter.value, meter.max);
    });
    // One sentence for screen readers, read from what the page now shows (so every
    // kind is covered): "Cats 56%, Dogs 44%, 16 votes".
    function summary() {
      var parts = [];
      if (kind === "ranked") {
        var outcome = document.getElementById("outcome");
        if (outcome) parts.push(outcome.textContent.trim());
      } else if (kind === "scale") {
        var mean = document.getElementById("scale-mean");
        if (mean) parts.push(gettext("Mean") + " " + mean.textContent.trim());
      } else {
        Array.prototype.forEach.call(root.querySelectorAll("[data-choice]"), function (row) {
          var name = row.querySelector(".choice-label");
          var pct = row.querySelector(".percent");
          if (name && pct) parts.push(name.textContent.trim() + " " + pct.textContent.trim() + "%");
        });
      }
      parts.push(total.textContent.trim() + " " + totalUnit.textContent.trim());
      return parts.join(", ");
    }

    root.classList.add("js");
    return { render: render, summary: summary };
  }

  // Live totals, said politely and rarely: at most one summary every ANNOUNCE_EVERY_MS,
  // the newest one, and only when it differs from the last one said (a screen reader
  // reading every vote would drown the page).
  var ANNOUNCE_EVERY_MS = 5000;

  function announcer(region, view) {
    var said = view.summary(); // the page as loaded: already there to read
    var saidAt = 0;
    var timer = null;
    function sayNow() {
      timer = null;
      var text = view.summary();
      if (text === said) return;
      said = text;
      saidAt = Date.now();
      region.textContent = text;
    }
    return function changed() {
      if (timer !== null) return; // the next summary is already due
      var wait = saidAt + ANNOUNCE_EVERY_MS - Date.now();
      if (wait <= 0) sayNow();
      else timer = setTimeout(sayNow, wait);
    };
  }

  // The results page: its own socket, which reconnects and re-syncs.
  function follow(root) {
    var view = attach(root);
    var live = document.getElementById("live");
    var region = document.getElementById("results-announce");
    var announce = region ? announcer(region, view) : function () {};
    var render = function (msg) {
      view.render(msg);
      announce();
    };
    var BACKOFF_FIRST_MS = 500;
    var BACKOFF_MAX_MS = 10000;
    var attempt = 0;
    var socket = null;
    var retryTimer = null;

    function setLive(state, text) {
      live.textContent = text;
      live.className = "live " + state;
    }

    function scheduleReconnect() {
      // Full jitter: a random delay up to the exponential cap, so that a restarted
      // server is not hit by every open page at the same moment.
      var cap = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, attempt));
      attempt += 1;
      retryTimer = setTimeout(connect, Math.random() * cap);
    }

    function connect() {
      retryTimer = null;
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var ws = new WebSocket(scheme + location.host + "/ws/polls/" + root.dataset.slug + "/");
      socket = ws;
      ws.onmessage = function (event) {
        var msg;
        try {
          msg = JSON.parse(event.data);
        } catch (e) {
          return; // not ours to show
        }
        render(msg);
        if (!live.classList.contains("on")) {
          // The first message after (re)connecting is a fresh snapshot: in sync again.
          attempt = 0;
          setLive("on", gettext("live"));
        }
      };
      ws.onclose = function (event) {
        if (socket !== ws) return;
        socket = null;
        if (event.code >= 4000 && event.code < 5000) {
          // The server refused this poll on purpose (e.g. 4404 unknown): retrying won't help.
          setLive("off", gettext("live updates unavailable"));
          return;
        }
        setLive("down", gettext("reconnecting…"));
        scheduleReconnect();
      };
    }

    function reconnectNow() {
      // The network is back: don't sit out the rest of a long backoff.
      if (retryTimer !== null) {
        clearTimeout(retryTimer);
        connect();
      }
    }

    setLive("down", gettext("connecting…"));
    window.addEventListener("online", reconnectNow);
    connect();
  }

  window.LiveResults = { attach: attach };
  var page = document.getElementById("results");
  if (page && !page.dataset.fed && "WebSocket" in window) follow(page);
})();
