// A ranked ballot, better with JavaScript: the selects (one per rank) become a list to
// reorder by drag, by the keyboard or by buttons. The selects stay in the form, hidden,
// and follow every change, so the form posts exactly what it posts without this script.
(function () {
  "use strict";
  // Django's JavaScript catalogue (jsi18n), English without it (polls/i18n.js).
  var gettext = window.gettext;
  var interpolate = window.interpolate;
  var selectsBox = document.querySelector(".rank-selects");
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

  function ordinal(n) {
    var tens = n % 100;
    var suffix = tens >= 10 && tens <= 20 ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
    return n + suffix;
  }

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
      item.setAttribute("aria-label", name + ", " + ordinal(index + 1) + " choice");
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
      item.setAttribute("aria-label", name + ", not ranked");
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
    changed(next, labels[id] + " ranked " + ordinal(ranking.length) + ".");
  }

  function move(id, to) {
    var from = ranking.indexOf(id);
    if (to < 0 || to >= ranking.length) {
      say(labels[id] + " is already " + ordinal(from + 1) + ".");
      return;
    }
    ranking.splice(from, 1);
    ranking.splice(to, 0, id);
    changed(id, labels[id] + " moved to " + ordinal(to + 1) + " choice.");
  }

  function remove(id) {
    var from = ranking.indexOf(id);
    ranking.splice(from, 1);
    var next = ranking[from] || ranking[from - 1] || id;
    changed(next, labels[id] + " taken out of your ranking.");
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
    changed(id, labels[id] + " moved to " + ordinal(ranking.indexOf(id) + 1) + " choice.");
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
})();
