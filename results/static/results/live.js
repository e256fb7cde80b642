// Live results: a snapshot on connect, then newer snapshots (by seq); reconnects with
// backoff and jitter and re-syncs from a fresh snapshot. Without this script the page
// is still correct: a reload shows current totals.
(function () {
  "use strict";
  var list = document.getElementById("results");
  if (!list || !("WebSocket" in window)) return;
  var live = document.getElementById("live");
  var total = document.getElementById("total");
  var statusEl = document.getElementById("poll-status");
  var seq = parseInt(list.dataset.seq || "-1", 10);
  var attempt = 0;

  function setLive(on, text) {
    live.textContent = text;
    live.classList.toggle("on", on);
  }

  function render(msg) {
    if (msg.type !== "results" || typeof msg.seq !== "number" || msg.seq < seq) return;
    seq = msg.seq;
    total.textContent = msg.total;
    statusEl.textContent = msg.status;
    msg.choices.forEach(function (c) {
      var row = list.querySelector('[data-choice="' + c.id + '"]');
      if (!row) return;
      var pct = msg.total ? Math.round(1000 * c.votes / msg.total) / 10 : 0;
      row.querySelector(".votes").textContent = c.votes;
      row.querySelector(".percent").textContent = pct;
      row.querySelector(".fill").style.width = pct + "%";
    });
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws/polls/" + list.dataset.slug + "/");
    ws.onopen = function () { attempt = 0; setLive(true, "live"); };
    ws.onmessage = function (event) {
      try { render(JSON.parse(event.data)); } catch (e) { /* ignore a bad frame */ }
    };
    ws.onclose = function (event) {
      if (event.code === 4404) { setLive(false, "no such poll"); return; }
      setLive(false, "reconnecting…");
      // Exponential backoff capped at 10 s, with full jitter so viewers don't stampede.
      var delay = Math.random() * Math.min(10000, 500 * Math.pow(2, attempt++));
      setTimeout(connect, delay);
    };
  }
  connect();
})();
