// The moderator's page and the presenter's moderation panel (issue 34): each poll's queue
// kept live (its results socket says when the poll changed; the server renders the queue
// again), actions sent without leaving the page, and keys: ↓ ↑ (or J K) move between
// entries, A approve, H hide, R restore, V hide a voter's answers, C correct a Q&A
// question's typo. Without this script
// every button is a plain form.
(function () {
  "use strict";
  var gettext = window.gettext;
  if (!window.fetch) return;
  var announce = document.getElementById("mod-announce") || document.getElementById("announce");

  function say(text) {
    if (!announce) return;
    announce.textContent = "";
    setTimeout(function () { announce.textContent = text; }, 50);
  }

  function send(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    // getAttribute: the form's "action" buttons shadow form.action.
    return fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      return response.json().then(function (body) {
        say(response.ok ? body.message : body.error || gettext("That did not work: try again."));
        return body;
      });
    }).catch(function () {
      say(gettext("That did not work: try again."));
    });
  }

  // Swap in a fresh copy of a part, keeping the focus on the same entry when it is there.
  function refresher(holder, url, after) {
    var timer = null;
    var busy = false;
    function run() {
      timer = null;
      // Busy, or a correction being typed here: a fresh copy would drop it; later, then.
      var typing = document.activeElement && document.activeElement.matches("input[data-key]") &&
        holder.contains(document.activeElement);
      if (busy || typing) { timer = setTimeout(run, 200); return; }
      busy = true;
      var focused = document.activeElement && document.activeElement.closest
        ? document.activeElement.closest(".mod-row") : null;
      var key = focused && holder.contains(focused) ? focused.dataset.value : null;
      var target = url();
      if (!target) { busy = false; return; }  // the question left the stage meanwhile
      fetch(target, { credentials: "same-origin" }).then(function (response) {
        if (response.status === 204) return "";
        return response.ok ? response.text() : null;
      }).then(function (html) {
        busy = false;
        if (html === null) return;
        after(html);
        rows(holder);
        if (key !== null) {
          var again = holder.querySelector('.mod-row[data-value="' + CSS.escape(key) + '"]');
          if (again) again.focus();
        }
      }).catch(function () { busy = false; });
    }
    return function () {
      if (timer === null) timer = setTimeout(run, 100); // a burst of changes: one fetch
    };
  }

  // Rows take the focus for the keys (one tab stop per list: the arrows move within it).
  function rows(holder) {
    holder.querySelectorAll(".mod-rows").forEach(function (list) {
      list.querySelectorAll(".mod-row").forEach(function (row, n) {
        row.tabIndex = n === 0 ? 0 : -1;
      });
    });
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var row = event.target.closest ? event.target.closest(".mod-row") : null;
    if (!row || event.target.matches("input, textarea")) return;
    var key = event.key.toLowerCase();
    var all = Array.prototype.slice.call(document.querySelectorAll(".mod-row"));
    var at = all.indexOf(row);
    var next = null;
    // In the presenter's panel the arrows stay the presenter's (next, previous question).
    var inPanel = row.closest("#moderation-panel") !== null;
    if (!inPanel && (key === "arrowdown" || key === "j")) next = all[at + 1];
    else if (!inPanel && (key === "arrowup" || key === "k")) next = all[at - 1];
    if (next !== null) {
      event.preventDefault();
      if (next) next.focus();
      return;
    }
    var field = row.querySelector('input[data-key="' + key + '"]');
    if (field) { // C: correct a question's typo (Enter saves it)
      event.preventDefault();
      field.focus();
      field.select();
      return;
    }
    var button = row.querySelector('button[data-key="' + key + '"]');
    if (!button) return;
    event.preventDefault();
    event.stopImmediatePropagation(); // a key of ours: not the presenter's shortcut too
    var after = all[at + 1] || all[at - 1];
    if (after) after.focus(); // the row leaves its list: go on with the next one
    button.click();
  }

  function intercept(holder, refresh) {
    holder.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.matches(".mod-actions, .mod-all")) return;
      event.preventDefault();
      var row = form.closest(".mod-row");
      if (row && form.contains(document.activeElement)) row.focus(); // done typing
      send(form, event.submitter).then(refresh);
    });
  }

  // The moderator's page: one section per poll, each following its poll's socket.
  document.querySelectorAll(".mod-queue").forEach(function (section) {
    var refresh = refresher(section, function () { return section.dataset.part; }, function (html) {
      var box = document.createElement("div");
      box.innerHTML = html;
      var fresh = box.querySelector(".mod-body");
      if (fresh) section.querySelector(".mod-body").replaceWith(fresh);
    });
    rows(section);
    intercept(section, refresh);
    var status = section.querySelector("[data-live]");
    if ("WebSocket" in window && window.LiveSocket) {
      window.LiveSocket.open({
        path: section.dataset.socket,
        status: status,
        onMessage: refresh,
        onRefused: function () {
          setInterval(refresh, 3000); // results not public to this moderator: ask instead
          if (status) { status.textContent = gettext("live"); status.className = "live on"; }
          return true;
        },
      });
    }
  });

  // The presenter's panel: the current poll's counts (never an entry's words: the room
  // sees this view), redrawn when its results move (results.js writes the new seq) or the
  // question changes.
  var panel = document.getElementById("moderation-panel");
  var stage = document.getElementById("session");
  if (panel && stage) {
    var body = document.getElementById("moderation-panel-queue");
    var slug = function () {
      var poll = document.getElementById("session-poll");
      return poll ? poll.dataset.slug : "";
    };
    var refreshPanel = refresher(panel, function () {
      return slug() ? panel.dataset.part.replace("SLUG", encodeURIComponent(slug())) : "";
    }, function (html) {
      body.innerHTML = html;
      panel.hidden = !html;
    });
    intercept(panel, refreshPanel);
    new MutationObserver(function () {
      if (slug()) refreshPanel();
      else panel.hidden = true;
    }).observe(stage.querySelector(".stage") || stage, {
      subtree: true, childList: true, attributes: true, attributeFilter: ["data-seq", "data-slug"],
    });
    if (slug()) refreshPanel();
  }

  document.addEventListener("keydown", onKey);
})();
