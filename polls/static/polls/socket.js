// The one live socket of every listening page (results page, embeds, a session's audience,
// presenter and embed): reconnects after a random delay up to an exponential cap (full
// jitter: a restarted server is not hit by every page at once), comes back at once when
// the network returns or the page is shown again (or asks an open socket for the state),
// and says where it stands in the page's language (Django's JavaScript catalogue).
// The first message on every (re)connect is the whole state: the page is in sync again.
(function () {
  "use strict";
  var gettext = window.gettext; // polls/i18n.js: English without the catalogue
  var BACKOFF_FIRST_MS = 500;
  var BACKOFF_MAX_MS = 10000;
  // Too many sockets or messages from this address (results/guard.py, polls' join codes):
  // not a refusal for good; tried again, from the longer delays.
  var CLOSE_TOO_MANY = 4429;
  var TOO_MANY_ATTEMPT = 4; // the next delay up to 8 s, then 10 s

  // options: path (the socket's path), status (the element that says where it stands),
  // onMessage(msg, fresh) (fresh: the first message of this socket), ready(msg) (whether
  // a message is the whole state: default any), onRefused(code) (a close code 4000-4999:
  // refused on purpose; return false to retry anyway; default: "live updates unavailable").
  function open(options) {
    var attempt = 0;
    var socket = null;
    var retryTimer = null;
    var ready = options.ready || function () { return true; };

    function say(state, text) {
      var node = options.status;
      if (!node) return;
      node.textContent = text;
      node.className = "live " + state;
    }

    function scheduleReconnect() {
      var cap = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, attempt));
      attempt += 1;
      retryTimer = setTimeout(connect, Math.random() * cap);
    }

    function connect() {
      retryTimer = null;
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var ws = new WebSocket(scheme + location.host + options.path);
      socket = ws;
      var fresh = true;
      ws.onmessage = function (event) {
        var msg;
        try {
          msg = JSON.parse(event.data);
        } catch (e) {
          return; // not ours to show
        }
        if (!msg || typeof msg !== "object") return;
        var first = fresh && ready(msg);
        if (first) {
          fresh = false;
          attempt = 0;
          say("on", gettext("live"));
        }
        options.onMessage(msg, first);
      };
      ws.onclose = function (event) {
        if (socket !== ws) return;
        socket = null;
        if (event.code >= 4000 && event.code < 5000) {
          var handled = options.onRefused ? options.onRefused(event.code, say) : undefined;
          if (handled !== false && (handled !== undefined || event.code !== CLOSE_TOO_MANY)) {
            if (handled === undefined) say("off", gettext("live updates unavailable"));
            return;
          }
        }
        if (event.code === CLOSE_TOO_MANY) {
          attempt = Math.max(attempt, TOO_MANY_ATTEMPT);
          say("down", gettext("too many from your network: trying again…"));
        } else {
          say("down", gettext("reconnecting…"));
        }
        scheduleReconnect();
      };
    }

    function send(message) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(message));
      return true;
    }

    function wake() {
      // Back from sleep or offline: reconnect now, or ask an open socket for the state.
      if (send({ type: "sync" })) return;
      if (retryTimer !== null) {
        clearTimeout(retryTimer);
        connect();
      }
    }

    say("down", gettext("connecting…"));
    window.addEventListener("online", wake);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") wake();
    });
    connect();
    return { send: send, say: say };
  }

  window.LiveSocket = { open: open };
})();
