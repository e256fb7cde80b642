// A live session's pages (audience, presenter, embed) follow the presenter over the
// session's WebSocket (results/sessions.py): a "session" message on connect and on every
// change, "results" snapshots of the current poll while this page may see them, and for
// the presenter "audience" counts. When the question, the lock or the reveal changes,
// the page swaps in its poll part: a new question's ballot as the message brings it
// (rendered by the server in the page's language), else fetched (?part=poll, the same
// templates as a reload). polls/results.js (LiveResults) draws the results in it, each
// kind's script (polls/kinds/<kind>.js) its ballot. The socket is polls/socket.js's (backoff
// with full jitter; a (re)connect or a page back from sleep gets the whole state again).
// Without this script every page is still right on reload.
(function () {
  "use strict";
  // This script loads before the kinds' scripts (polls/_session_base.html), so it sees the
  // part as the server drew it, before a kind's script set its form up: kept, a lock or a
  // step back is drawn from it (below). The rest runs once every script has loaded.
  var loadedPart = document.getElementById("session-poll");
  var loadedHtml = loadedPart ? loadedPart.outerHTML : "";
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);

  function start() {
  // Django's JavaScript catalogue (jsi18n), English without it (polls/i18n.js).
  var gettext = window.gettext;
  var interpolate = window.interpolate;
  var main = document.getElementById("session");
  // After a vote (or a control) its confirmation takes the focus, as on a poll's page.
  var confirmation = document.getElementById("messages");
  if (confirmation) confirmation.focus();
  if (!main || !("WebSocket" in window) || !window.fetch || !window.LiveSocket) return;

  var role = main.dataset.role; // audience | present | embed
  var live = document.getElementById("session-live");
  var announcer = document.getElementById("announce");
  var socket = null; // polls/socket.js
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

  function say(text) {
    // Cleared first so that the same words twice are still read out.
    if (!announcer || !text) return;
    announcer.textContent = "";
    setTimeout(function () {
      announcer.textContent = text;
    }, 50);
  }

  function kindOf(name) {
    return (window.PollKinds || {})[name] || {};
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
    if (quizNeedsPart(was, now)) return true;
    if (role === "present") return false; // the flags are drawn here, the chart stays
    // A lock changes no markup but the form's state, drawn here (drawLock): thousands of
    // phones need not fetch anything for it. A form its kind's script sets up as it is
    // when loaded (a ranked ballot, a multiple choice's count) is loaded again.
    var enhanced = now.poll && !!kindOf(now.poll.kind).ballot;
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
    if (now.reveal && !was.reveal && now.quiz_mine) words.push(now.quiz_mine.text, now.quiz_mine.standing, now.quiz_mine.final || "");
    return words.join(" ");
  }

  function onState(now) {
    if (typeof now.seq !== "number" || now.seq <= stateSeq) return;
    stateSeq = now.seq;
    var was = state ? stateOf(state) : shown();
    state = now;
    var before = shown(); // before the flags below are drawn on the part
    var stale = needsPart(before, now);
    if (role === "present") drawControls(now);
    drawLock(now);
    if (!stale) quizTold(now);
    if (now.state !== "live") {
      ended();
    } else if (stale && canDraw(shown(), now)) {
      drawQuestion(now);
    } else if (stale && canRecall(before, now) && drawKept(now)) {
      // a question shown before, as this visitor last had it
    } else if (stale && canReveal(shown(), now)) {
      drawResults(now);
    } else if (stale && canHide(before, now)) {
      hideResults(now);
    } else if (stale && canRelock(before, now)) {
      drawKept(now);
    } else if (stale && !loading) {
      loadPart();
    }
    say(describe(was, now));
  }

  // --- A quiz question (issue 36): its countdown runs on the server's clock -------------
  // The part says the deadline and the server's now (Redis's clock, ms); the time left is
  // deadline - (the phone's now + (server now - the phone's now when it was told)), so a
  // phone that slept, or whose clock is wrong, still shows the server's time left.

  function quizNeedsPart(was, now) {
    if (!now.quiz) return false;
    var box = document.getElementById("quiz");
    var shownStarted = !!box && box.dataset.deadline !== "";
    // A phone draws the start from the event itself (quizTold): thousands fetch nothing.
    if (shownStarted !== now.quiz.started && (role === "present" || !box)) return true;
    return role === "present" && was.reveal !== now.reveal;
  }

  function quizTold(now) {
    var box = document.getElementById("quiz");
    if (!box || !now.quiz || !now.quiz.deadline_ms) return;
    box.dataset.deadline = String(now.quiz.deadline_ms);
    box.dataset.now = String(now.quiz.now_ms);
    box.dataset.seenAt = String(Date.now());
    if (now.locked) box.dataset.deadline = String(now.quiz.now_ms); // ended early
    var wait = box.querySelector("[data-quiz-wait]");
    if (wait) wait.hidden = true;
    var line = box.querySelector("[data-countdown-line]");
    if (line) line.hidden = false;
    tick();
  }

  function tick() {
    var box = document.getElementById("quiz");
    if (!box || !box.dataset.deadline) return;
    if (!box.dataset.seenAt) box.dataset.seenAt = String(Date.now());
    var offset = Number(box.dataset.now) - Number(box.dataset.seenAt);
    var left = Math.max(0, Number(box.dataset.deadline) - (Date.now() + offset));
    var counter = box.querySelector("[data-countdown]");
    if (counter) counter.textContent = String(Math.ceil(left / 1000));
    var up = box.querySelector("[data-time-up]");
    if (up && left === 0 && up.hidden) {
      up.hidden = false;
      say(gettext("Time is up."));
      quizClosed();
    }
  }
  setInterval(tick, 250);

  // Time is up: an answer this phone sent (202) is in and counted, so the page no longer
  // says "being stored" nor offers to send it again (as a reload draws it, quiz_closed).
  function quizClosed() {
    var p = part();
    if (role !== "audience" || !document.getElementById("quiz")) return;
    var fieldset = p.querySelector("form.vote fieldset");
    if (fieldset) fieldset.disabled = true;
    var button = p.querySelector("form.vote button[type=submit]");
    if (button) button.hidden = true;
    Array.prototype.forEach.call(p.querySelectorAll(".storing"), function (node) {
      node.parentNode.removeChild(node);
    });
    var mine = p.querySelector(".your-vote");
    if (mine) {
      var ballot = mine.querySelector(".your-ballot");
      mine.className = "your-vote";
      mine.textContent = gettext("Time is up: your answer is in.");
      if (ballot) {
        mine.appendChild(document.createTextNode(" "));
        mine.appendChild(ballot);
        mine.appendChild(document.createTextNode("."));
      }
    }
    var received = document.getElementById("messages"); // "Vote received… being stored"
    if (received) received.parentNode.removeChild(received);
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
    if (fresh && parseInt(fresh.dataset.seq, 10) >= shown().seq) {
      keep(fresh.dataset.slug, fresh.outerHTML);
      replacePart(fresh);
    }
  }

  function replacePart(fresh) {
    // A page loads the scripts of its session's kinds only: a poll of another kind,
    // added while the session is live, needs the page loaded again (rare).
    if (fresh.dataset.kind && !kindOf(fresh.dataset.kind).draw) {
      window.location.reload();
      return;
    }
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

  // --- A new question from the message: no request from every phone -----------------
  // The server renders the new question's part once per language and each audience
  // socket carries its page's (polls/live/parts.py): the same template as a reload,
  // with this page's CSRF token put in. A question this page showed before (the voter
  // may have voted on it), one that needs a log-in, or results to show: the server draws
  // those for this visitor (loadPart).

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
      typeof now.ballot === "string" && !!token && !!token.value && seen().indexOf(poll.slug) < 0
    );
  }

  function drawQuestion(now) {
    var holder = document.createElement("template");
    holder.innerHTML = now.ballot;
    var fresh = holder.content.querySelector("#session-poll");
    if (!fresh) return loadPart();
    keep(fresh.dataset.slug, now.ballot);
    withToken(fresh);
    replacePart(fresh);
  }

  function withToken(fresh) {
    var token = document.getElementById("session-csrf");
    Array.prototype.forEach.call(fresh.querySelectorAll("[name=csrfmiddlewaretoken]"), function (input) {
      if (token && token.value) input.value = token.value;
    });
  }

  // --- A question shown before, a lock, results hidden: drawn from what the page holds --
  // The part of each question as the server last drew it for this visitor (with their vote
  // marked: a vote is a form post, so the page that follows is drawn with it), kept for
  // this tab (sessionStorage: across those reloads), and the note that results come later.
  // Going back to a question, a lock of a form a kind's script set up (set up again from
  // the server's markup, the voter's picks carried over) and results hidden again are
  // drawn from them: no request from every phone. Without them, the part is fetched.

  var keptKey = "session-parts:" + main.dataset.code;
  var KEEP = 12; // questions kept (a few kilobytes each)

  function kept() {
    try {
      var value = JSON.parse(sessionStorage.getItem(keptKey) || "null");
      if (value && Array.isArray(value.parts)) return value;
    } catch (e) {
      /* unreadable: nothing kept */
    }
    return { parts: [], note: "" };
  }

  var memory = kept(); // the same, for a tab whose storage refuses it (private mode)

  function keep(slug, html) {
    if (!slug || !html) return;
    memory.parts = memory.parts.filter(function (pair) {
      return pair[0] !== slug;
    });
    memory.parts.push([slug, html]);
    if (memory.parts.length > KEEP) memory.parts.shift();
    var holder = document.createElement("template");
    holder.innerHTML = html;
    var note = holder.content.querySelector(".results-later");
    if (note) memory.note = note.outerHTML;
    try {
      sessionStorage.setItem(keptKey, JSON.stringify(memory));
    } catch (e) {
      /* full or refused: kept in memory for this page */
    }
  }

  function keptPart(slug) {
    for (var i = 0; i < memory.parts.length; i++) {
      if (memory.parts[i][0] === slug) {
        var holder = document.createElement("template");
        holder.innerHTML = memory.parts[i][1];
        return holder.content.querySelector("#session-poll");
      }
    }
    return null;
  }

  function fromHtml(html, selector) {
    var holder = document.createElement("template");
    holder.innerHTML = html || "";
    return holder.content.querySelector(selector);
  }

  function canRecall(was, now) {
    var poll = now.poll;
    return (
      role === "audience" && !!poll && was.slug !== poll.slug && poll.status === "open" &&
      !now.quiz && !!keptPart(poll.slug) && (!now.reveal || typeof now.results_part === "string")
    );
  }

  function canRelock(was, now) {
    return (
      role === "audience" && !!now.poll && was.slug === now.poll.slug && !now.quiz &&
      was.locked !== now.locked && was.reveal === now.reveal && !!keptPart(now.poll.slug)
    );
  }

  function canHide(was, now) {
    return (
      role !== "present" && !!now.poll && was.slug === now.poll.slug && was.reveal && !now.reveal &&
      !now.quiz && !!memory.note && !!document.getElementById("results")
    );
  }

  // The kept part with this state's flags, its results (the message's section, or the one
  // the page shows) or the note; false when it cannot be drawn (then it is fetched).
  function drawKept(now) {
    var fresh = keptPart(now.poll.slug);
    storedSince(fresh);
    var old = part();
    var same = old.dataset.slug === now.poll.slug;
    if (same) carryPicks(old.querySelector("form.vote"), fresh.querySelector("form.vote"));
    withToken(fresh);
    fresh.dataset.seq = String(now.seq);
    fresh.dataset.locked = now.locked ? "1" : "0";
    fresh.dataset.reveal = now.reveal ? "1" : "0";
    var note = fresh.querySelector("#locked-note");
    if (note) note.hidden = !now.locked;
    var fieldset = fresh.querySelector("form.vote fieldset");
    if (fieldset) fieldset.disabled = now.locked || fieldset.dataset.open !== "1";
    var results = fresh.querySelector("#results");
    var later = fresh.querySelector(".results-later");
    var showing = document.getElementById("results");
    if (now.reveal) {
      var section = same && showing ? showing : fromHtml(now.results_part, "#results");
      if (!section) return false;
      if (results || later) (results || later).parentNode.replaceChild(section, results || later);
      else fresh.appendChild(section);
    } else if (results) {
      var back = fromHtml(memory.note, ".results-later");
      if (!back) return false;
      results.parentNode.replaceChild(back, results);
    }
    replacePart(fresh);
    return true;
  }

  // A kept part is drawn again at least one presenter's action after it was kept: the
  // vote it marks "being stored" was admitted then (its 202) and is stored since (the
  // results count it; a page offers no change the worker refuses), so it says so, as a
  // reload draws it.
  function storedSince(fresh) {
    Array.prototype.forEach.call(fresh.querySelectorAll(".storing"), function (node) {
      node.parentNode.removeChild(node);
    });
    var mine = fresh.querySelector(".your-vote.storing-vote");
    if (!mine) return;
    mine.classList.remove("storing-vote");
    var said = mine.firstChild;
    if (said && said.nodeType === Node.TEXT_NODE) {
      said.nodeValue = gettext("Your vote is stored.") + (/\s$/.test(said.nodeValue) ? " " : "");
    }
  }

  // What the voter picked on the form being replaced, on the same question's new form.
  function carryPicks(from, to) {
    if (!from || !to) return;
    var taken = {};
    Array.prototype.forEach.call(to.elements, function (input) {
      if (!input.name || input.type === "hidden" || input.type === "submit" || input.type === "button") return;
      var olds = Array.prototype.filter.call(from.elements, function (other) {
        return other.name === input.name;
      });
      if (input.type === "checkbox" || input.type === "radio") {
        input.checked = olds.some(function (other) {
          return other.value === input.value && other.checked;
        });
      } else {
        var index = taken[input.name] || 0;
        taken[input.name] = index + 1;
        if (olds[index]) input.value = olds[index].value;
      }
    });
  }

  function hideResults(now) {
    var section = document.getElementById("results");
    section.parentNode.replaceChild(fromHtml(memory.note, ".results-later"), section);
    var p = part();
    p.dataset.reveal = "0";
    p.dataset.seq = String(now.seq);
    view = null;
    document.dispatchEvent(new CustomEvent("session:swapped"));
  }

  // The results shown: their section comes in the message too (rendered once per
  // language), and takes the place of the note that they come later; the form, and the
  // voter's own mark on it, stay as they are. Hidden again: the part is fetched.
  function canReveal(was, now) {
    return (
      role !== "present" && !!now.poll && was.slug === now.poll.slug && !was.reveal &&
      (!now.quiz || (!!now.quiz_mine && !!document.getElementById("quiz"))) && now.reveal && typeof now.results_part === "string" && !document.getElementById("results")
    );
  }

  function drawResults(now) {
    var holder = document.createElement("template");
    holder.innerHTML = now.results_part;
    var section = holder.content.querySelector("#results");
    if (!section) return loadPart();
    var p = part();
    var later = p.querySelector(".results-later");
    if (later && !memory.note) memory.note = later.outerHTML;
    if (later) later.parentNode.replaceChild(section, later);
    else p.appendChild(section);
    p.dataset.reveal = "1";
    p.dataset.seq = String(now.seq);
    if (now.quiz_mine) drawOwnResult(now.quiz_mine);
    attachResults();
    document.dispatchEvent(new CustomEvent("session:swapped"));
  }

  // A quiz question revealed: this phone's own result came in the message (the results
  // process picked it for this voter), in the page's language; nothing is fetched.
  function drawOwnResult(mine) {
    var box = document.getElementById("quiz");
    if (!box) return;
    quizClosed();
    var old = box.querySelectorAll(".quiz-result, .quiz-standing");
    for (var i = 0; i < old.length; i++) old[i].parentNode.removeChild(old[i]);
    var result = document.createElement("p");
    result.className = "quiz-result " + (mine.right ? "right" : "wrong");
    result.textContent = mine.text;
    box.appendChild(result);
    if (mine.standing) {
      var standing = document.createElement("p");
      standing.className = "quiz-standing";
      standing.textContent = mine.standing;
      box.appendChild(standing);
    }
    if (mine.final) drawFinal(box, mine);
  }

  // The last quiz question revealed: the quiz is over. This phone's final place, and the
  // podium the server rendered in the page's language (the same markup as a reload).
  function drawFinal(box, mine) {
    var old = box.querySelectorAll(".quiz-final, #podium-box");
    for (var i = 0; i < old.length; i++) old[i].parentNode.removeChild(old[i]);
    var line = document.createElement("p");
    line.className = "quiz-final";
    line.textContent = mine.final;
    box.appendChild(line);
    if (!mine.podium) return;
    var holder = document.createElement("template");
    holder.innerHTML = mine.podium;
    var podium = holder.content.querySelector("#podium-box");
    if (podium) box.appendChild(podium);
  }

  function ended() {
    var p = part();
    // A quiz's end stays on the phone (its final place and the podium) after the session.
    var podium = p.querySelector("#podium-box");
    var final = p.querySelector(".quiz-final");
    p.dataset.slug = "";
    p.textContent = "";
    var heading = document.createElement("h1");
    heading.id = "question";
    heading.textContent = gettext("This session has ended. Thank you!");
    p.appendChild(heading);
    if (final) p.appendChild(final);
    if (podium) p.appendChild(podium);
    view = null;
  }

  function enhance() {
    // Its kind's script sets up a new form (a ranked ballot's list, a count of picks).
    var p = part();
    var ballot = kindOf(p.dataset.kind).ballot;
    if (ballot) ballot(p);
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

  function resync() {
    // After a control's error the page may show what the server no longer holds (or never
    // did): ask for the whole state again; a socket that is down gets it on reconnect.
    if (socket && socket.send({ type: "sync" })) resyncing = true;
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
    var startButton = document.getElementById("start-button");
    if (startButton && now.quiz) {
      startButton.textContent = now.quiz.running ? gettext("End countdown") : gettext("Start countdown");
      startButton.value = now.quiz.running ? "lock" : "start";
      startButton.hidden = now.quiz.started && !now.quiz.running; // played once, never again
    }
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
    if (action === "start") action = current.quiz && current.quiz.running ? "lock" : "start";
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
          if (answer.note) showError(answer.note); // "next" before a quiz question's reveal
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
    s: "start",
    S: "start",
    b: "blank",
    B: "blank",
    ".": "blank",
    f: "fullscreen",
    F: "fullscreen",
    t: "leaderboard",
    T: "leaderboard",
    "?": "help",
  };

  function run(name) {
    if (name === "help") toggleHelp();
    else if (name === "fullscreen") toggleFullscreen();
    else if (name === "blank") blank.hidden = !blank.hidden;
    else if (name === "leaderboard") toggleLeaderboard();
    else act(name);
  }

  // T: a quiz's leaderboard on the projector, hidden or shown again (show the correct
  // answer first, then the places). Kept across the part's swaps until pressed again.
  var leaderboardHidden = false;
  function drawLeaderboard() {
    var box = document.getElementById("leaderboard-box");
    if (box) box.hidden = leaderboardHidden;
    return box;
  }
  function toggleLeaderboard() {
    leaderboardHidden = !leaderboardHidden;
    if (drawLeaderboard()) say(leaderboardHidden ? gettext("Leaderboard hidden.") : gettext("Leaderboard shown."));
  }
  document.addEventListener("session:swapped", drawLeaderboard);

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
  if (role === "audience" && loadedPart) keep(loadedPart.dataset.slug, loadedHtml);
  markSeen(); // its kind's script set the form up as it loaded
  socket = window.LiveSocket.open({
    path: main.dataset.socket,
    status: live,
    ready: function (msg) {
      return msg.type === "session";
    },
    onMessage: function (msg, fresh) {
      if (fresh || (resyncing && msg.type === "session")) {
        // A (re)connect or a resync: the server's state is the truth, whatever seq we had.
        resyncing = false;
        stateSeq = -1;
      }
      onMessage(msg);
      // Other parts of the page (the Q&A board: qna.js) listen too.
      document.dispatchEvent(new CustomEvent("live:message", { detail: { msg: msg, fresh: !!fresh } }));
    },
    onRefused: function (code, say) {
      if (code === 4404) {
        ended();
        say("off", gettext("ended"));
        return true;
      }
      if (code === 4403) {
        say("off", gettext("not allowed: log in again"));
        return true;
      }
      return false; // 4429 (too many wrong codes from here): tried again later
    },
  });
  }
})();
