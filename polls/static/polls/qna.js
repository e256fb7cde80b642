/* A live session's Q&A board (issue 35), on the audience's page and the presenter's view.
 * Without this script every form posts and the page comes back; with it the forms post
 * in place (JSON), each live snapshot ({"type": "qna"}, which session.js hands on as a
 * "live:message" event) redraws the list from the server's own item <template>, and on
 * every (re)connect the list is read again from the API. Every word comes from the page
 * (the templates' translations); text goes in as text, never markup. */
(function () {
  "use strict";
  var root = document.getElementById("qna");
  if (!root) return;
  var role = root.dataset.role;
  var list = document.getElementById("qna-list");
  var template = document.getElementById("qna-item");
  var say = document.getElementById("qna-announce");
  var errorBox = document.getElementById("qna-error");
  var seq = Number(root.dataset.seq || -1);
  var sort = root.dataset.sort || "top";
  var last = null; // the latest snapshot drawn
  var mine = { asked: {}, upvoted: {} };
  var acted = {}; // question id -> when this page last acted on it (ms)
  var OWN_WINS_MS = 10000; // this page's action, maybe not stored yet, beats a push's marks

  Array.prototype.forEach.call(list.querySelectorAll(".qna-question"), function (item) {
    if (item.classList.contains("is-mine")) mine.asked[item.dataset.id] = true;
    var pressed = item.querySelector("[aria-pressed]");
    if (pressed && pressed.getAttribute("aria-pressed") === "true") mine.upvoted[item.dataset.id] = true;
  });

  function announce(text) {
    if (!say || !text) return;
    say.textContent = "";
    window.setTimeout(function () { say.textContent = text; }, 50);
  }

  function showError(text) {
    if (!errorBox) return;
    errorBox.textContent = text || "";
    errorBox.hidden = !text;
  }

  function setText(id, value) {
    var node = document.getElementById(id);
    if (node) node.textContent = String(value);
  }

  function flag(item, name, on) {
    var node = item.querySelector(".qna-" + name);
    if (node) node.hidden = !on;
  }

  function drawItem(q) {
    var item = template.content.firstElementChild.cloneNode(true);
    item.dataset.id = q.id;
    item.querySelector(".qna-text").textContent = q.text;
    var name = item.querySelector(".qna-name");
    name.textContent = q.name || "";
    name.hidden = !q.name;
    flag(item, "answered", q.answered);
    flag(item, "pinned", q.pinned);
    item.classList.toggle("is-answered", q.answered);
    Array.prototype.forEach.call(item.querySelectorAll("input[name=question]"), function (input) {
      input.value = q.id;
    });
    item.querySelector(".qna-upvotes").textContent = String(q.upvotes);
    if (role === "audience") {
      var own = !!mine.asked[q.id];
      item.classList.toggle("is-mine", own);
      flag(item, "yours", own);
      item.querySelector(".qna-withdraw").hidden = !own;
      var up = !!mine.upvoted[q.id];
      item.querySelector("input[name=up]").value = up ? "0" : "1";
      item.querySelector("[aria-pressed]").setAttribute("aria-pressed", up ? "true" : "false");
    } else {
      Array.prototype.forEach.call(item.querySelectorAll("[data-flip]"), function (button) {
        var on = !!q[button.dataset.flip];
        button.textContent = on ? button.dataset.on : button.dataset.off;
        var names = { answered: ["unanswered", "answered"], pinned: ["unpin", "pin"] }[button.dataset.flip];
        button.value = on ? names[0] : names[1];
      });
    }
    return item;
  }

  function draw(snapshot) {
    last = snapshot;
    var focused = document.activeElement && list.contains(document.activeElement)
      ? document.activeElement.closest(".qna-question") : null;
    var focusedId = focused ? focused.dataset.id : null;
    var known = {};
    Array.prototype.forEach.call(list.children, function (item) { known[item.dataset.id] = true; });
    var questions = snapshot[sort] || snapshot.top || [];
    var fresh = document.createDocumentFragment();
    var added = false;
    questions.forEach(function (q) {
      if (!known[q.id] && !mine.asked[q.id]) added = true; // not news to its asker
      fresh.appendChild(drawItem(q));
    });
    list.replaceChildren(fresh);
    if (focusedId) {
      var again = list.querySelector('[data-id="' + focusedId + '"]');
      if (again) (again.tabIndex === -1 ? again : again.querySelector("button") || again).focus();
    }
    var empty = document.getElementById("qna-empty");
    if (empty) empty.hidden = questions.length > 0;
    if (snapshot.counts) {
      setText("qna-count", snapshot.counts.questions);
      setText("qna-upvotes", snapshot.counts.upvotes);
      setText("qna-answered-count", snapshot.counts.answered);
      setText("qna-pending-count", snapshot.counts.pending);
    }
    var box = document.getElementById("qna-highlight");
    if (box) {
      box.hidden = !snapshot.highlight;
      if (snapshot.highlight) {
        setText("qna-highlight-text", snapshot.highlight.text);
        setText("qna-highlight-upvotes", snapshot.highlight.upvotes);
      }
    }
    var ask = document.getElementById("qna-ask");
    if (ask && snapshot.asking === false) ask.querySelector("button").disabled = true;
    if (ask && snapshot.asking === true) ask.querySelector("button").disabled = false;
    if (added) announce(root.dataset.saidNew);
  }

  function takeMine(msg) {
    // This voter's own marks, pushed once its actions are stored (made here or on another
    // phone): the truth for the snapshot's questions, except those this page acted on a
    // moment ago (a push may predate that action's storing).
    if (!msg.mine) return;
    var asked = {}, upvoted = {}, now = Date.now();
    msg.mine.asked.forEach(function (id) { asked[id] = true; });
    msg.mine.upvoted.forEach(function (id) { upvoted[id] = true; });
    [].concat(msg.top || [], msg.newest || [], msg.highlight ? [msg.highlight] : []).forEach(function (q) {
      if (acted[q.id] && now - acted[q.id] < OWN_WINS_MS) return;
      if (asked[q.id]) mine.asked[q.id] = true; else delete mine.asked[q.id];
      if (upvoted[q.id]) mine.upvoted[q.id] = true; else delete mine.upvoted[q.id];
    });
  }

  function onSnapshot(msg) {
    if (typeof msg.seq !== "number" || msg.seq <= seq) return;
    seq = msg.seq;
    takeMine(msg);
    draw(msg);
  }

  function reread() {
    // A (re)connected socket brings no Q&A snapshot: read the board from the API.
    fetch(root.dataset.list + "?limit=50&sort=" + sort, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (page) {
        if (!page) return;
        mine = { asked: {}, upvoted: {} };
        page.mine.asked.forEach(function (id) { mine.asked[id] = true; });
        page.mine.upvoted.forEach(function (id) { mine.upvoted[id] = true; });
        var snapshot = Object.assign({}, page.board);
        snapshot[sort] = page.questions;
        last = null;
        draw(snapshot);
      })
      .catch(function () {});
  }

  document.addEventListener("live:message", function (event) {
    var detail = event.detail || {};
    if (detail.fresh) reread();
    if (detail.msg && detail.msg.type === "qna") onSnapshot(detail.msg);
  });

  // --- Forms, posted in place --------------------------------------------------------

  function post(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    var token = form.querySelector("[name=csrfmiddlewaretoken]").value;
    return fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": token },
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.error || String(response.status));
        return body;
      });
    });
  }

  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    event.preventDefault();
    var submitter = event.submitter;
    showError("");
    post(form, submitter).then(function (body) {
      if (role === "present") {
        seq = Math.max(seq, -1);
        onSnapshot(body);
        return;
      }
      if (form.classList.contains("qna-ask")) {
        mine.asked[body.id] = true;
        acted[body.id] = Date.now();
        form.reset();
        announce(root.dataset.saidSent);
      } else if (form.classList.contains("qna-upvote")) {
        var id = form.querySelector("input[name=question]").value;
        if (body.up) mine.upvoted[id] = true; else delete mine.upvoted[id];
        acted[id] = Date.now();
        var counter = form.querySelector(".qna-upvotes");
        counter.textContent = String(Math.max(0, Number(counter.textContent) + (body.up ? 1 : -1)));
        form.querySelector("input[name=up]").value = body.up ? "0" : "1";
        form.querySelector("[aria-pressed]").setAttribute("aria-pressed", body.up ? "true" : "false");
        announce(body.up ? root.dataset.saidUp : root.dataset.saidDown);
      } else if (form.classList.contains("qna-withdraw")) {
        delete mine.asked[body.id];
        acted[body.id] = Date.now();
        var gone = list.querySelector('[data-id="' + body.id + '"]');
        if (gone) gone.remove();
        announce(root.dataset.saidWithdrawn);
      }
    }).catch(function (error) {
      showError(error.message);
    });
  });

  // --- Sorting without a reload ------------------------------------------------------

  Array.prototype.forEach.call(root.querySelectorAll(".qna-sort a"), function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      sort = link.dataset.sort;
      Array.prototype.forEach.call(root.querySelectorAll(".qna-sort a"), function (other) {
        if (other === link) other.setAttribute("aria-current", "true");
        else other.removeAttribute("aria-current");
      });
      if (last && last[sort]) draw(last); else reread();
    });
  });

  // --- The presenter's keys: Q next on screen, A answered, O show the focused one ----------

  if (role !== "present") return;
  function onScreen() {
    if (last) return last.highlight ? last.highlight.id : "";
    return root.dataset.highlight || "";
  }
  function control(action, question) {
    var form = root.querySelector(".qna-board-controls");
    var data = new FormData();
    data.set("action", action);
    if (question) data.set("question", question);
    showError("");
    fetch(root.dataset.control, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.error || String(response.status));
        onSnapshot(body);
      });
    }).catch(function (error) { showError(error.message); });
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var key = event.key.toLowerCase();
    if (key === "q") {
      event.preventDefault();
      control("next");
    } else if (key === "a" && onScreen()) {
      event.preventDefault();
      control("answered", onScreen());
    } else if (key === "o") {
      var focused = document.activeElement && document.activeElement.closest
        ? document.activeElement.closest("#qna-list .qna-question") : null;
      var first = focused || list.querySelector(".qna-question");
      if (first) {
        event.preventDefault();
        control("show", first.dataset.id);
      }
    }
  });
})();
