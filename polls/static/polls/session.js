// A live session's pages (audience, presenter, embed) follow the presenter over the
// session's WebSocket (results/sessions.py): a "session" message on connect and on every
// change, "results" snapshots of the current poll while this page may see them, and for
// the presenter "audience" counts. When the question, the lock or the reveal changes,
// the page fetches its poll part from the server (?part=poll, the same templates as a
// reload) and swaps it in; live.js (LiveResults) draws the results in it.
// Reconnects with backoff and full jitter; a (re)connect or a page back from sleep gets
// the whole state again. Without this script every page is still right on reload.
(function () {
  "use strict";
  // Django's JavaScript catalogue (jsi18n), English without it (polls/i18n.js).
  var gettext = window.gettext;
  var interpolate = window.interpolate;
  var main = document.getElementById("session");
  // After a vote (or a control) its confirmation takes the focus, as on a poll's page.
  var confirmation = document.getElementById("messages");
  if (confirmation) confirmation.focus();
  if (!main || !("WebSocket" in window) || !window.fetch) return;

  var role = main.dataset.role; // audience | present | embed
  var live = document.getElementById("session-live");
  var announcer = document.getElementById("announce");
  var BACKOFF_FIRST_MS = 500;
  var BACKOFF_MAX_MS = 10000;
  var attempt = 0;
  var socket = null;
  var retryTimer = null;
  var stateSeq = -1; // the newest session state this page has had
  var resyncing = false; // the next "session" message is the server's truth (resync)
  var state = null;
  var loading = false; // a part is being fetched
  var view = null; // LiveResults view of the part's #results
  var latest = null; // the newest results snapshot, for a part still on its way

  function part() {
    return document.getElementById("session-poll");
  }

  function shown() {
    var p = part();
    return {
      slug: p.dataset.slug,
      seq: parseInt(p.dataset.seq, 10),
      locked: p.dataset.locked === "1",
      reveal: p.dataset.reveal === "1",
    };
  }

  function setLive(cls, text) {
    if (!live) return;
    live.textContent = text;
    live.className = "live " + cls;
  }

  function say(text) {
    // Cleared first so that the same words twice are still read out.
    if (!announcer || !text) return;
    announcer.textContent = "";
    setTimeout(function () {
      announcer.textContent = text;
    }, 50);
  }

  function attachResults() {
    var results = document.getElementById("results");
    view = results && window.LiveResults ? window.LiveResults.attach(results) : null;
    if (view && latest && latest.poll === results.dataset.slug) view.render(latest);
  }

  // --- The state: what changed, and the part to swap in ---------------------------------

  function needsPart(was, now) {
    var slug = now.poll ? now.poll.slug : "";
    if (was.slug !== slug) return true;
    if (role === "present") return false; // the flags are drawn here, the chart stays
    // A lock changes no markup but the form's state, drawn here (drawLock): thousands of
    // phones need not fetch anything for it. Ranked and multiple-choice forms are set up
    // by their own scripts as they are when loaded: those are loaded again.
    var enhanced = now.poll && (now.poll.kind === "ranked" || now.poll.kind === "multiple");
    if (was.locked !== now.locked && enhanced) return true;
    return was.reveal !== now.reveal;
  }

  function drawLock(now) {
    var p = part();
    if (role !== "audience" || p.dataset.slug !== (now.poll ? now.poll.slug : "")) return;
    p.dataset.locked = now.locked ? "1" : "0";
    var note = document.getElementById("locked-note");
    if (note) note.hidden = !now.locked;
    var fieldset = p.querySelector("form.vote fieldset");
    if (fieldset) fieldset.disabled = now.locked || fieldset.dataset.open !== "1";
  }

  function describe(was, now) {
    var slug = now.poll ? now.poll.slug : "";
    if (now.state !== "live") return gettext("The session has ended.");
    if (was.slug !== slug) {
      return now.poll
        ? interpolate(gettext("Question %(position)s of %(count)s: %(question)s"),
            { position: now.position, count: now.count, question: now.poll.question }, true)
        : gettext("Waiting for the presenter.");
    }
    var words = [];
    if (was.locked !== now.locked) words.push(now.locked ? gettext("Voting is locked.") : gettext("Voting is open again."));
    if (was.reveal !== now.reveal) words.push(now.reveal ? gettext("The results are shown.") : gettext("The results are hidden."));
    return words.join(" ");
  }

  function onState(now) {
    if (typeof now.seq !== "number" || now.seq <= stateSeq) return;
    stateSeq = now.seq;
    var was = state ? stateOf(state) : shown();
    state = now;
    var stale = needsPart(shown(), now); // before the flags below are drawn on the part
    if (role === "present") drawControls(now);
    drawLock(now);
    if (now.state !== "live") {
      ended();
    } else if (stale && canDraw(shown(), now)) {
      drawQuestion(now);
    } else if (stale && !loading) {
      loadPart();
    }
    say(describe(was, now));
  }

  function stateOf(s) {
    return { slug: s.poll ? s.poll.slug : "", locked: s.locked, reveal: s.reveal };
  }

  function loadPart() {
    loading = true;
    var wanted = stateSeq;
    fetch(main.dataset.part, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        swap(html);
        loading = false;
        // Another change came while this one loaded, and the part predates it: again.
        var again = (state && needsPart(shown(), state)) || shown().seq < wanted;
        if (state && role === "present") drawControls(state);
        if (state) drawLock(state);
        if (again) loadPart();
      })
      .catch(function () {
        loading = false;
        // The session may have ended, or the network dropped: the socket will tell.
        retryPartSoon();
      });
  }

  var partTimer = null;
  function retryPartSoon() {
    if (partTimer !== null) return;
    partTimer = setTimeout(function () {
      partTimer = null;
      if (state && state.state === "live" && needsPart(shown(), state) && !loading) loadPart();
    }, 1000 + Math.random() * 2000);
  }

  function swap(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var fresh = holder.content.querySelector("#session-poll");
    // Older than what the page shows (drawn here meanwhile): keep the page's.
    if (fresh && parseInt(fresh.dataset.seq, 10) >= shown().seq) replacePart(fresh);
  }

  function replacePart(fresh) {
    var old = part();
    var hadFocus = old.contains(document.activeElement);
    var sameQuestion = old.dataset.slug === fresh.dataset.slug;
    old.parentNode.replaceChild(fresh, old);
    if (!sameQuestion) {
      // A new question: the last one's "vote received" no longer applies.
      var messages = document.getElementById("messages");
      if (messages) messages.remove();
    }
    attachResults();
    enhance();
    markSeen();
    if (hadFocus) {
      var heading = document.getElementById("question");
      if (heading) heading.focus();
    }
    document.dispatchEvent(new CustomEvent("session:swapped"));
  }

  // --- A new question drawn here, from the state: no request from every phone ---------
  // The same markup as polls/templates/polls/_session_poll.html and the _ballot_*.html
  // partials (and the words of polls/displays.py). A question this page showed before
  // (the voter may have voted on it), one that needs a log-in, or results to show: the
  // server draws those (loadPart).

  var seenKey = "session-seen:" + main.dataset.code;

  function seen() {
    try {
      return JSON.parse(sessionStorage.getItem(seenKey) || "[]");
    } catch (e) {
      return [];
    }
  }

  function markSeen() {
    var slug = part().dataset.slug;
    var slugs = seen();
    if (!slug || slugs.indexOf(slug) >= 0) return;
    slugs.push(slug);
    try {
      sessionStorage.setItem(seenKey, JSON.stringify(slugs));
    } catch (e) {
      /* private mode: the server draws every question then */
    }
  }

  function canDraw(was, now) {
    var poll = now.poll;
    var token = document.getElementById("session-csrf");
    return (
      role === "audience" && !!poll && was.slug !== poll.slug && !now.reveal &&
      poll.status === "open" && !poll.login_required && !!token && !!token.value &&
      seen().indexOf(poll.slug) < 0 && !!poll.vote_url
    );
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (attrs[name] !== null && attrs[name] !== undefined && attrs[name] !== false) {
        node.setAttribute(name, attrs[name] === true ? "" : String(attrs[name]));
      }
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === "") return;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  function ordinal(n) {
    // As polls/displays.py (ordinal) writes it, in the page's language.
    var language = (document.documentElement.lang || "en").slice(0, 2);
    if (language === "de") return n + ".";
    if (language === "fr") return n === 1 ? "1er" : n + "e";
    if (language === "es") return n + ".ª";
    var tens = n % 100;
    var suffix = tens >= 10 && tens <= 20 ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
    return n + suffix;
  }

  function picksHint(low, high, count) {
    // The words of polls/displays.py (picks_hint), in both catalogues.
    if (low === high) return interpolate(gettext("Pick exactly %(low)s."), { low: low }, true);
    if (low === 1) {
      if (high >= count) return gettext("Pick as many as you like.");
      return interpolate(gettext("Pick up to %(high)s."), { high: high }, true);
    }
    if (high >= count) return interpolate(gettext("Pick at least %(low)s."), { low: low }, true);
    return interpolate(gettext("Pick from %(low)s to %(high)s."), { low: low, high: high }, true);
  }

  function ballotOf(poll) {
    var choices = poll.choices;
    if (poll.kind === "multiple") {
      return [el("p", { class: "hint", id: "picks-hint", "data-min": poll.min_picks,
                        "data-max": poll.max_picks }, [picksHint(poll.min_picks, poll.max_picks, choices.length)])]
        .concat(choices.map(function (c) {
          return el("label", { class: "choice" }, [
            el("input", { type: "checkbox", name: "choices", value: c.id, "aria-describedby": "picks-hint" }),
            " " + c.label,
          ]);
        }));
    }
    if (poll.kind === "ranked") {
      var most = poll.max_ranks;
      var ranks = [];
      for (var n = 1; n <= most; n += 1) {
        var options = [el("option", { value: "" }, [n === 1 ? gettext("Choose…") : gettext("(none)")])].concat(
          choices.map(function (c) {
            return el("option", { value: c.id }, [c.label]);
          })
        );
        ranks.push(el("label", { class: "rank" }, [
          el("span", { class: "rank-label" }, [interpolate(gettext("%(ordinal)s choice"), { ordinal: ordinal(n) }, true)]),
          el("select", { name: "rank" + n, required: n === 1 }, options),
        ]));
      }
      return [
        el("p", { class: "hint", id: "ranks-hint" }, [
          most >= choices.length
            ? gettext("Rank the choices, best first. You need not rank them all.")
            : interpolate(gettext("Rank up to %(most)s of the choices, best first."), { most: most }, true),
        ]),
        el("div", { class: "rank-selects", "data-max-ranks": most }, ranks),
      ];
    }
    if (poll.kind === "scale") {
      var scale = poll.scale;
      var values = [];
      for (var v = scale.min; v <= scale.max; v += 1) {
        var end = v === scale.min ? scale.min_label : v === scale.max ? scale.max_label : "";
        values.push(el("label", { class: "scale-value" }, [
          el("input", { type: "radio", name: "value", value: v, required: true }),
          el("span", { class: "scale-number" }, [v]),
          end ? el("span", { class: "sr-only" }, [" (" + end + ")"]) : null,
        ]));
      }
      var ends = null;
      if (scale.min_label || scale.max_label) {
        ends = el("div", { class: "scale-ends", "aria-hidden": "true" }, [
          scale.min_label ? el("span", { class: "end-min" }, [scale.min + ": " + scale.min_label]) : null,
          scale.max_label ? el("span", { class: "end-max" }, [scale.max + ": " + scale.max_label]) : null,
        ]);
      }
      return [el("div", { class: "scale", role: "radiogroup", "aria-labelledby": "scale-hint" }, [
        el("p", { class: "hint", id: "scale-hint" }, [interpolate(gettext("Pick one value from %(low)s to %(high)s."), { low: scale.min, high: scale.max }, true)]),
        el("div", { class: "scale-values" }, values),
        ends,
      ])];
    }
    return choices.map(function (c) {
      return el("label", { class: "choice" }, [
        el("input", { type: "radio", name: "choice", value: c.id, required: true }),
        " " + c.label,
      ]);
    });
  }

  function drawQuestion(now) {
    var poll = now.poll;
    var fieldset = el("fieldset", { disabled: now.locked, "data-open": "1" }, [
      el("legend", {}, [gettext("Your vote")]),
    ].concat(ballotOf(poll), [el("button", { type: "submit" }, [gettext("Vote")])]));
    var fresh = el("div", {
      id: "session-poll", "data-slug": poll.slug, "data-seq": now.seq,
      "data-locked": now.locked ? "1" : "0", "data-reveal": "0",
    }, [
      el("p", { class: "eyebrow" }, [interpolate(gettext("Question %(position)s of %(count)s"), { position: now.position, count: now.count }, true)]),
      el("h1", { id: "question", tabindex: "-1" }, [poll.question]),
      el("p", { class: "notice locked", id: "locked-note", hidden: !now.locked }, [
        gettext("Voting on this question is closed for now."),
      ]),
      el("form", {
        method: "post", action: poll.vote_url,
        class: "vote" + (poll.kind !== "single" ? " vote-" + poll.kind : ""),
      }, [
        el("input", { type: "hidden", name: "csrfmiddlewaretoken",
                      value: document.getElementById("session-csrf").value }),
        el("input", { type: "hidden", name: "next", value: location.pathname }),
        fieldset,
      ]),
      el("p", { class: "hint results-later" }, [gettext("The results appear here when the presenter shows them.")]),
    ]);
    replacePart(fresh);
  }

  function ended() {
    var p = part();
    p.dataset.slug = "";
    p.textContent = "";
    var heading = document.createElement("h1");
    heading.id = "question";
    heading.textContent = gettext("This session has ended. Thank you!");
    p.appendChild(heading);
    view = null;
  }

  function enhance() {
    // The ballots' own scripts (ranking.js, picks.js) set up the form on the page when
    // they run: run the one this question needs again for each new form.
    var src = document.querySelector("#session-poll .rank-selects")
      ? main.dataset.rankingJs
      : document.querySelector("#session-poll #picks-hint")
        ? main.dataset.picksJs
        : "";
    if (!src) return;
    var script = document.createElement("script");
    script.src = src;
    document.body.appendChild(script);
  }

  // --- The socket -------------------------------------------------------------------

  function onMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "session") {
      onState(msg);
    } else if (msg.type === "results") {
      latest = msg;
      if (role === "present") setText("voters", msg.total);
      var results = document.getElementById("results");
      if (view && results && results.dataset.slug === msg.poll) view.render(msg);
    } else if (msg.type === "audience") {
      setText("devices", msg.devices);
    }
  }

  function setText(id, value) {
    var node = document.getElementById(id);
    if (node) node.textContent = String(value);
  }

  function scheduleReconnect() {
    var cap = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, attempt));
    attempt += 1;
    retryTimer = setTimeout(connect, Math.random() * cap);
  }

  function connect() {
    retryTimer = null;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + main.dataset.socket);
    socket = ws;
    var fresh = true;
    ws.onmessage = function (event) {
      var msg;
      try {
        msg = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if ((fresh || resyncing) && msg.type === "session") {
        // A (re)connect or a resync: the server's state is the truth, whatever seq we had.
        fresh = resyncing = false;
        attempt = 0;
        stateSeq = -1;
        setLive("on", "live");
      }
      onMessage(msg);
    };
    ws.onclose = function (event) {
      if (socket !== ws) return;
      socket = null;
      if (event.code === 4404) {
        ended();
        setLive("off", "ended");
        return;
      }
      if (event.code === 4403) {
        setLive("off", gettext("not allowed: log in again"));
        return;
      }
      setLive("down", "reconnecting…");
      scheduleReconnect();
    };
  }

  function resync() {
    // After a control's error the page may show what the server no longer holds (or never
    // did): ask for the whole state again; a socket that is down gets it on reconnect.
    if (socket && socket.readyState === WebSocket.OPEN) {
      resyncing = true;
      socket.send(JSON.stringify({ type: "sync" }));
    }
  }

  function wake() {
    // Back from sleep or offline: reconnect now, or ask an open socket for the state.
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "sync" }));
    } else if (retryTimer !== null) {
      clearTimeout(retryTimer);
      connect();
    }
  }

  // --- The presenter's controls -----------------------------------------------------

  var controls = document.getElementById("controls");
  var help = document.getElementById("help");
  var blank = document.getElementById("blank");
  var errorBox = document.getElementById("control-error");
  var helpReturn = null;
  var errorTimer = null;

  function drawControls(now) {
    setText("position", interpolate(gettext("Question %(position)s of %(count)s"), { position: now.position, count: now.count }, true));
    var lockButton = document.getElementById("lock-button");
    lockButton.textContent = now.locked ? gettext("Unlock voting") : gettext("Lock voting");
    lockButton.value = now.locked ? "unlock" : "lock";
    var revealButton = document.getElementById("reveal-button");
    revealButton.textContent = now.reveal ? gettext("Hide results") : gettext("Show results");
    revealButton.value = now.reveal ? "hide" : "reveal";
    var p = part();
    p.dataset.locked = now.locked ? "1" : "0";
    p.dataset.reveal = now.reveal ? "1" : "0";
    var flagLocked = document.getElementById("flag-locked");
    if (flagLocked) flagLocked.hidden = !now.locked;
    var flagReveal = document.getElementById("flag-reveal");
    if (flagReveal) flagReveal.hidden = !now.reveal;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(function () {
      errorBox.hidden = true;
    }, 4000);
  }

  function act(action) {
    var current = state || shown();
    if (action === "lock") action = current.locked ? "unlock" : "lock";
    if (action === "reveal") action = current.reveal ? "hide" : "reveal";
    var body = new FormData();
    body.append("action", action);
    var token = controls.querySelector("[name=csrfmiddlewaretoken]").value;
    fetch(controls.getAttribute("action"), { // not .action: the buttons are named "action"
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": token },
    })
      .then(function (response) {
        if (response.status === 503) {
          // Postgres or Redis did not answer (JSON with its code): the action was not done.
          showError(gettext("The server's database is not answering; nothing changed."));
          resync();
          return;
        }
        return response.json().then(function (answer) {
          if (!response.ok) {
            showError(answer.error || gettext("That did not work."));
            resync();
            return;
          }
          errorBox.hidden = true;
          onState(answer); // the socket brings the same; whichever comes first shows
        });
      })
      .catch(function () {
        showError(gettext("Could not reach the server: check the network."));
        resync();
      });
  }

  function toggleHelp() {
    if (help.hidden) {
      helpReturn = document.activeElement;
      help.hidden = false;
      help.focus();
    } else {
      help.hidden = true;
      if (helpReturn && helpReturn.focus) helpReturn.focus();
    }
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else if (document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(function () {
        showError(gettext("This browser refused full screen."));
      });
    }
  }

  var KEYS = {
    PageDown: "next",
    ArrowRight: "next",
    ArrowDown: "next",
    PageUp: "previous",
    ArrowLeft: "previous",
    ArrowUp: "previous",
    l: "lock",
    L: "lock",
    r: "reveal",
    R: "reveal",
    b: "blank",
    B: "blank",
    ".": "blank",
    f: "fullscreen",
    F: "fullscreen",
    "?": "help",
  };

  function run(name) {
    if (name === "help") toggleHelp();
    else if (name === "fullscreen") toggleFullscreen();
    else if (name === "blank") blank.hidden = !blank.hidden;
    else act(name);
  }

  if (role === "present") {
    Array.prototype.forEach.call(document.querySelectorAll(".js-only"), function (node) {
      node.hidden = false;
    });
    document.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-action]");
      if (!button) return;
      event.preventDefault(); // the script posts it; without the script the form does
      run(button.dataset.action);
    });
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      var target = event.target;
      if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
      if (event.key === "Escape") {
        if (!help.hidden) toggleHelp();
        blank.hidden = true;
        return;
      }
      var name = KEYS[event.key];
      if (!name) return;
      event.preventDefault(); // no scrolling on arrows and PageDown
      if (event.repeat && (name === "next" || name === "previous")) return; // a held key
      if (!help.hidden && name !== "help") return;
      run(name);
    });
  }

  attachResults();
  enhance();
  markSeen();
  setLive("down", "connecting…");
  window.addEventListener("online", wake);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") wake();
  });
  connect();
})();
