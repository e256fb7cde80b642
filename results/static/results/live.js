// Live results: the server sends a snapshot on connect, then every newer snapshot (by
// seq). While the socket is down the page says so and reconnects with exponential
// backoff and full jitter; the snapshot sent on every (re)connect re-syncs it.
// Without this script the page is still correct: a reload shows current totals.
(function () {
  "use strict";
  var root = document.getElementById("results");
  if (!root || !("WebSocket" in window)) return;

  var live = document.getElementById("live");
  var total = document.getElementById("total");
  var totalUnit = document.getElementById("total-unit");
  var statusEl = document.getElementById("poll-status");
  var seq = parseInt(root.dataset.seq || "-1", 10);

  var BACKOFF_FIRST_MS = 500;
  var BACKOFF_MAX_MS = 10000;
  var attempt = 0;
  var socket = null;
  var retryTimer = null;

  function percentOf(votes, sum) {
    // One decimal, none when it is .0: the same as the server's floatformat:"-1".
    return sum ? Math.round((1000 * votes) / sum) / 10 : 0;
  }

  function setLive(state, text) {
    live.textContent = text;
    live.className = "live " + state;
  }

  function drawRow(row, votes, sum) {
    var pct = percentOf(votes, sum);
    var votesEl = row.querySelector(".votes");
    if (votesEl.textContent !== String(votes)) {
      votesEl.textContent = votes;
      // Restart the highlight so the eye finds what just changed.
      row.classList.remove("bump");
      void row.offsetWidth;
      row.classList.add("bump");
    }
    row.querySelector(".votes-unit").textContent = votes === 1 ? "vote" : "votes";
    row.querySelector(".percent").textContent = pct;
    var meter = row.querySelector(".meter");
    meter.max = sum || 1;
    meter.value = votes;
    meter.textContent = pct + "%";
    // Set through the CSSOM, which a Content-Security-Policy without
    // 'unsafe-inline' still allows; the CSS transition animates the change.
    row.querySelector(".fill").style.width = pct + "%";
  }

  function render(msg) {
    // seq only grows per poll: anything older than what is shown is stale.
    if (!msg || msg.type !== "results" || typeof msg.seq !== "number" || msg.seq < seq) return;
    seq = msg.seq;
    root.dataset.seq = String(seq);
    total.textContent = msg.total;
    totalUnit.textContent = msg.total === 1 ? "vote" : "votes";
    statusEl.textContent = msg.status;
    statusEl.className = "pill status-" + msg.status;
    msg.choices.forEach(function (c) {
      var row = root.querySelector('[data-choice="' + c.id + '"]');
      if (row) drawRow(row, c.votes, msg.total);
    });
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
        setLive("on", "live");
      }
    };
    ws.onclose = function (event) {
      if (socket !== ws) return;
      socket = null;
      if (event.code >= 4000 && event.code < 5000) {
        // The server refused this poll on purpose (e.g. 4404 unknown): retrying won't help.
        setLive("off", "live updates unavailable");
        return;
      }
      setLive("down", "reconnecting…");
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

  // Draw the bars from the numbers the server rendered, then switch the page to them.
  Array.prototype.forEach.call(root.querySelectorAll("[data-choice]"), function (row) {
    var meter = row.querySelector(".meter");
    var sum = parseInt(total.textContent, 10) || 0;
    drawRow(row, meter.value, sum);
    row.classList.remove("bump");
  });
  root.classList.add("js");
  setLive("down", "connecting…");
  window.addEventListener("online", reconnectNow);
  connect();
})();
