// Live results: the server sends a snapshot on connect, then every newer snapshot (by
// seq), through the page's live socket (polls/socket.js). Without this script the page
// is still correct: a reload shows current totals.
// Each kind of question is drawn by its own script (polls/kinds/<kind>.js, registered in
// window.PollKinds), with the markup and the words the server renders (the kind's
// results template, polls/displays.py). Session pages (polls/session.js) hand their own
// socket's messages to LiveResults.attach(root).render instead.
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

  function kindOf(name) {
    return (window.PollKinds || {})[name] || {};
  }

  // --- Building blocks the kinds' scripts draw with -----------------------------------

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

  function h(tag, className, children) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false || child === "") return;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
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

  var tools = {
    shareOf: shareOf, unitOf: unitOf, bump: bump, drawRow: drawRow, h: h,
    paintBar: paintBar, paintColumn: paintColumn,
  };

  // Draws one #results section from the snapshots handed to render().
  function attach(root) {
    var total = root.querySelector("#total");
    var totalUnit = root.querySelector("#total-unit");
    var statusEl = root.querySelector("#poll-status");
    var seq = parseInt(root.dataset.seq || "-1", 10);
    var kind = root.dataset.kind || "single";
    var view = { root: root, total: total, totalUnit: totalUnit, tools: tools };

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
      var draw = kindOf(kind).draw;
      if (draw) draw(view, msg);
      // For what else the page shows of a snapshot (seal.js: the poll's seal).
      document.dispatchEvent(new CustomEvent("results:rendered", { detail: msg }));
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
    // One sentence for screen readers, read from what the page now shows (each kind says
    // its part): "Cats 56%, Dogs 44%, 16 votes".
    function summary() {
      var said = kindOf(kind).summary;
      var parts = said ? said(view) : [];
      parts.push(total.textContent.trim() + " " + totalUnit.textContent.trim());
      return parts.join(", ");
    }

    root.classList.add("js");
    // A kind that draws more than the server rendered (a word cloud) starts here.
    var init = kindOf(kind).init;
    if (init) init(view);
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

  // The results page and a poll's embed: their own socket (polls/socket.js).
  function follow(root) {
    var view = attach(root);
    var region = document.getElementById("results-announce");
    var announce = region ? announcer(region, view) : function () {};
    window.LiveSocket.open({
      path: "/ws/polls/" + root.dataset.slug + "/",
      status: document.getElementById("live"),
      onMessage: function (msg) {
        view.render(msg);
        announce();
      },
    });
  }

  window.LiveResults = { attach: attach };
  var page = document.getElementById("results");
  if (page && !page.dataset.fed && "WebSocket" in window && window.LiveSocket) follow(page);
})();
