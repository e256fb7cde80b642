// Ranked choice. Its results: the runoff, round by round, as polls/displays.py
// ranked_view draws it (each round's bars, the rounds as a table, the first preferences
// and Borda points). Its ballot, better with JavaScript: the selects (one per rank) become
// a list to reorder by drag, by the keyboard or by buttons. The selects stay in the form,
// hidden, and follow every change, so the form posts exactly what it posts without this
// script. Every word it shows or announces comes from the catalogue, ordinals included.
(function () {
  "use strict";
  // Django's JavaScript catalogue (jsi18n), English without it (polls/i18n.js).
  var gettext = window.gettext;
  var interpolate = window.interpolate;
  var pgettext = window.pgettext;

  // 1st, 2nd... in the page's language, as polls/displays.py ordinal writes it: the
  // language's ordinal rule (CLDR, through Intl.PluralRules) picks one of four forms, each
  // written by the catalogue.
  var ordinalRule = null;
  function ordinal(n) {
    if (ordinalRule === null) {
      var language = document.documentElement.lang || "en";
      try {
        ordinalRule = new Intl.PluralRules(language, { type: "ordinal" });
      } catch (e) {
        ordinalRule = { select: function () { return "other"; } };
      }
    }
    var forms = {
      one: pgettext("ordinal: 1st, 21st, 31st", "%(n)sst"),
      two: pgettext("ordinal: 2nd, 22nd, 32nd", "%(n)snd"),
      few: pgettext("ordinal: 3rd, 23rd, 33rd", "%(n)srd"),
      other: pgettext("ordinal: 4th, 11th, 12th, 13th", "%(n)sth"),
    };
    return interpolate(forms[ordinalRule.select(n)] || forms.other, { n: n }, true);
  }

  // --- Its results --------------------------------------------------------------------
  // --- The rounds in words: polls/kinds/ranked_words.py, sentence for sentence, from the
  // same snapshot and the same catalogue (tests/browser/test_rounds.py holds them equal).

  var ngettext = window.ngettext;

  function fill(format, values) {
    return interpolate(format, values, true);
  }

  function grouped(number) {
    var digits = String(Math.abs(number));
    var least = parseInt(pgettext("fewest digits in a number to group its thousands", "4"), 10) || 4;
    if (digits.length >= least) {
      var parts = [];
      while (digits) {
        parts.unshift(digits.slice(-3));
        digits = digits.slice(0, -3);
      }
      // The separator, from a thousand written out (a catalogue keeps no blank text).
      var thousand = pgettext("one thousand, written with the separator of 10,000", "1,000");
      digits = parts.join(thousand.slice(1, -3));
    }
    return (number < 0 ? "-" : "") + digits;
  }

  function share(percent) {
    var text = Number(percent).toFixed(1).replace(/\.0$/, "");
    return text.replace(".", pgettext("decimal separator", ".")) + pgettext("percent sign after a number", "%");
  }

  function listed(items) {
    if (items.length < 2) return items.join("");
    return fill(gettext("%(some)s and %(last)s"), { some: items.slice(0, -1).join(", "), last: items[items.length - 1] });
  }

  function reasonName(reason) {
    var names = {
      overvote: pgettext("why a ballot is inactive", "overvote"),
      skipped: pgettext("why a ballot is inactive", "skipped ranks"),
      undervote: pgettext("why a ballot is inactive", "blank"),
    };
    return names[reason] || reason;
  }

  function byReason(counts) {
    return Object.keys(counts || {})
      .sort()
      .filter(function (reason) {
        return counts[reason];
      })
      .map(function (reason) {
        return grouped(counts[reason]) + " (" + reasonName(reason) + ")";
      })
      .join(", ");
  }

  function sumVotes(items) {
    return items.reduce(function (sum, item) {
      return sum + item.votes;
    }, 0);
  }

  function standing(labels, current, after, msg, rules) {
    var counts = current.counts;
    if (!counts.length) return "";
    var active = sumVotes(counts);
    var leader = counts[0];
    counts.forEach(function (c) {
      if (c.votes > leader.votes) leader = c;
    });
    var values = { active: grouped(active), leader: label(labels, leader.id), votes: grouped(leader.votes), share: share(leader.percent) };
    if (!after) {
      if (msg.winner !== null && msg.winner !== undefined) {
        var winner = counts.filter(function (c) {
          return c.id === msg.winner;
        })[0];
        values.leader = label(labels, winner.id);
        values.votes = grouped(winner.votes);
        values.share = share(winner.percent);
        return fill(
          ngettext(
            "%(leader)s has more than half of the %(active)s ballot still counting (%(votes)s, %(share)s) and wins.",
            "%(leader)s has more than half of the %(active)s ballots still counting (%(votes)s, %(share)s) and wins.",
            active
          ),
          values
        );
      }
      if (msg.tied && msg.tied.length) {
        return fill(gettext("%(names)s are tied and the rules let none of them go: no one wins."), {
          names: listed(msg.tied.map(function (c) { return label(labels, c); })),
        });
      }
      return gettext("No ballot counts for a choice still in the count: no one wins.");
    }
    if (2 * leader.votes > active && rules.until_two) {
      return fill(gettext("%(leader)s has more than half (%(votes)s, %(share)s), but the rules count on until two choices remain."), values);
    }
    return fill(
      ngettext(
        "No one has more than half of the %(active)s ballot still counting; %(leader)s leads with %(votes)s (%(share)s).",
        "No one has more than half of the %(active)s ballots still counting; %(leader)s leads with %(votes)s (%(share)s).",
        active
      ),
      values
    );
  }

  function goingWords(labels, current, rules) {
    var moves = current.eliminations || [];
    if (!moves.length) return [];
    var votes = {};
    current.counts.forEach(function (c) {
      votes[c.id] = c.votes;
    });
    var going = moves.map(function (m) { return m.id; });
    var names = going.map(function (c) { return label(labels, c); });
    var tie = current.tie;
    if (!tie && going.length > 1) {
      var nearest = null;
      current.counts.forEach(function (c) {
        if (going.indexOf(c.id) < 0 && (nearest === null || c.votes < nearest.votes)) nearest = c;
      });
      return [
        fill(gettext("%(names)s together have %(votes)s votes, fewer than %(next)s alone (%(next_votes)s): none of them can catch up, so all are eliminated together."), {
          names: listed(names),
          votes: grouped(going.reduce(function (sum, c) { return sum + (votes[c] || 0); }, 0)),
          next: label(labels, nearest.id),
          next_votes: grouped(nearest.votes),
        }),
      ];
    }
    if (!tie) {
      return [fill(gettext("%(name)s has the fewest votes (%(votes)s) and is eliminated."), { name: names[0], votes: grouped(votes[going[0]] || 0) })];
    }
    var said = [
      fill(gettext("%(names)s tie for the fewest votes, %(votes)s each."), {
        names: listed(tie.tied.map(function (c) { return label(labels, c); })),
        votes: grouped(votes[tie.tied[0]] || 0),
      }),
    ];
    var left = listed(tie.still_tied.map(function (c) { return label(labels, c); }));
    if (tie.broken_by === "previous_rounds") {
      said.push(fill(gettext("%(name)s had fewer votes in an earlier round and is eliminated."), { name: names[0] }));
    } else if (tie.broken_by === "position") {
      said.push(fill(gettext("Earlier rounds do not separate %(names)s; the rules eliminate the one listed last: %(name)s."), { names: left, name: names[0] }));
    } else if (tie.broken_by === "lot") {
      var tickets = tie.lot
        .map(function (t) {
          return label(labels, t.id) + " " + t.ticket.slice(0, 12) + "…";
        })
        .join(", ");
      said.push(
        fill(gettext("Earlier rounds do not separate %(names)s: %(name)s is eliminated, drawn by lot (seed %(seed)s; tickets %(tickets)s; the lowest goes)."), {
          names: left, name: names[0], seed: rules.seed || "", tickets: tickets,
        })
      );
    } else {
      said.push(fill(gettext("The rules eliminate every choice tied for the fewest: %(names)s."), { names: listed(names) }));
    }
    return said;
  }

  function moveWords(labels, current, after) {
    var moves = current.eliminations || [];
    if (!moves.length) return [];
    var said = [];
    var transfers = moves.length === 1 ? moves[0].transfers : current.transfers;
    var inactive = moves.length === 1 ? moves[0].exhausted : current.transferred_to_exhausted;
    transfers = transfers.slice().sort(function (a, b) {
      return b.votes - a.votes; // most first; ties: poll order (a stable sort)
    });
    var moved = sumVotes(transfers);
    var to = transfers
      .map(function (t) {
        return label(labels, t.id) + " +" + grouped(t.votes);
      })
      .join(", ");
    if (moved && moves.length === 1) {
      said.push(
        fill(ngettext("%(count)s ballot for %(name)s moves to its next choice: %(to)s.", "%(count)s ballots for %(name)s move to their next choice: %(to)s.", moved), {
          count: grouped(moved), name: label(labels, moves[0].id), to: to,
        })
      );
    } else if (moved) {
      said.push(
        fill(ngettext("%(count)s of their ballots moves to its next choice: %(to)s.", "%(count)s of their ballots move to their next choice: %(to)s.", moved), {
          count: grouped(moved), to: to,
        })
      );
    }
    if (inactive) {
      said.push(
        fill(ngettext("%(count)s ballot has no more choices in the count and becomes inactive.", "%(count)s ballots have no more choices in the count and become inactive.", inactive), {
          count: grouped(inactive),
        })
      );
      var before = current.inactive || {};
      var now = after.inactive || {};
      var reasons = {};
      var any = false;
      Object.keys(now).forEach(function (reason) {
        if (now[reason] > (before[reason] || 0)) {
          reasons[reason] = now[reason] - (before[reason] || 0);
          any = true;
        }
      });
      if (any) said.push(fill(gettext("Of these: %(reasons)s."), { reasons: byReason(reasons) }));
    }
    return said;
  }

  function describe(msg) {
    var labels = labelsOf(msg);
    var rules = msg.rules || {};
    return msg.rounds.map(function (current, index) {
      var after = msg.rounds[index + 1] || null;
      var sentences = [];
      var start = msg.inactive_from_start || {};
      if (index === 0 && Object.keys(start).length) {
        var count = Object.keys(start).reduce(function (sum, reason) { return sum + start[reason]; }, 0);
        sentences.push(
          fill(ngettext("%(count)s imported ballot ranked no one and counts in no round: %(reasons)s.", "%(count)s imported ballots ranked no one and count in no round: %(reasons)s.", count), {
            count: grouped(count), reasons: byReason(start),
          })
        );
      }
      sentences.push(standing(labels, current, after, msg, rules));
      sentences = sentences.concat(goingWords(labels, current, rules));
      if (after) sentences = sentences.concat(moveWords(labels, current, after));
      return sentences.filter(function (s) { return s; });
    });
  }

  // --- The transfer view: a round picker, the picked round in words and numbers, the
  // Sankey of the rounds (d3-sankey, loaded from the template's addresses on first use),
  // and the transfers table (the server's, rebuilt from each snapshot).

  var picked = null; // the round picked (1-based); null: follow the last round
  var lastMsg = null;
  var said = [];

  function transferRows(msg) {
    var labels = labelsOf(msg);
    var rows = [];
    msg.rounds.forEach(function (round, index) {
      (round.eliminations || []).forEach(function (move) {
        move.transfers.forEach(function (t) {
          rows.push([index + 1, label(labels, move.id), label(labels, t.id), t.votes]);
        });
        if (move.exhausted) rows.push([index + 1, label(labels, move.id), gettext("inactive"), move.exhausted]);
      });
    });
    return rows;
  }

  function drawTransfersTable(msg) {
    var table = document.getElementById("transfers-table");
    if (!table) return;
    var body = h("tbody");
    transferRows(msg).forEach(function (row) {
      body.appendChild(h("tr", "", [th("row", row[1]), h("td", "", [row[2]]), h("td", "", [row[3]]), h("td", "", [row[0]])]));
    });
    table.replaceChild(body, table.querySelector("tbody"));
  }

  function drawDetail(msg, number) {
    var detail = document.getElementById("round-detail");
    if (!detail || !msg.rounds.length) return;
    var labels = labelsOf(msg);
    var round = msg.rounds[number - 1];
    var words = h("div", "round-words", said[number - 1].map(function (s) { return h("p", "", [s]); }));
    var numbers = h("ul", "round-numbers");
    round.counts.forEach(function (c) {
      numbers.appendChild(h("li", "", [h("span", "choice-label", [label(labels, c.id)]), " ", h("span", "choice-numbers", [grouped(c.votes) + " · " + share(c.percent)])]));
    });
    numbers.appendChild(h("li", "inactive", [h("span", "choice-label", [gettext("Inactive")]), " ", h("span", "choice-numbers", [grouped(round.exhausted)])]));
    var title = h("h3", "round-detail-title", [fill(gettext("Round %(number)s in words"), { number: number })]);
    title.id = "round-detail-title";
    var text = title.textContent + words.textContent + numbers.textContent;
    if (detail.dataset.text === text) return; // unchanged: nothing to announce
    detail.dataset.text = text;
    detail.textContent = "";
    detail.appendChild(title);
    detail.appendChild(words);
    detail.appendChild(numbers);
  }

  function drawPicker(msg) {
    var picker = document.getElementById("round-picker");
    if (!picker) return;
    var count = msg.rounds.length;
    var number = picked && picked <= count ? picked : count;
    picker.hidden = count < 2;
    var buttons = picker.querySelectorAll("button");
    if (buttons.length !== count) {
      picker.textContent = "";
      for (var n = 1; n <= count; n++) {
        var button = h("button", "round-pick", [String(n)]);
        button.type = "button";
        button.dataset.round = String(n);
        button.setAttribute("aria-label", fill(gettext("Round %(number)s"), { number: n }));
        picker.appendChild(button);
      }
      buttons = picker.querySelectorAll("button");
    }
    Array.prototype.forEach.call(buttons, function (button) {
      var on = button.dataset.round === String(number);
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.tabIndex = on ? 0 : -1; // one stop in the tab order; arrows move within
    });
    return number;
  }

  function pick(number, focus) {
    if (!lastMsg) return;
    var count = lastMsg.rounds.length;
    number = Math.max(1, Math.min(count, number));
    picked = number === count ? null : number; // the last round: follow new ones
    drawPicker(lastMsg);
    drawDetail(lastMsg, number);
    markSankey(number);
    if (focus) {
      var button = document.querySelector('#round-picker [data-round="' + number + '"]');
      if (button) button.focus();
    }
  }

  function pickerEvents() {
    var picker = document.getElementById("round-picker");
    if (!picker || picker.dataset.ready) return;
    picker.dataset.ready = "1";
    picker.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (button) pick(parseInt(button.dataset.round, 10), false);
    });
    picker.addEventListener("keydown", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      var at = parseInt(button.dataset.round, 10);
      var count = lastMsg ? lastMsg.rounds.length : 1;
      var to = { ArrowLeft: at - 1, ArrowUp: at - 1, ArrowRight: at + 1, ArrowDown: at + 1, Home: 1, End: count }[event.key];
      if (to === undefined) return;
      event.preventDefault();
      pick(to, true);
    });
  }

  // d3-array and d3-sankey, each once, in order (d3-sankey reads d3-array's functions).
  var loading = null;
  function withSankey(then) {
    if (window.d3 && window.d3.sankey) {
      then();
      return;
    }
    var view = document.getElementById("transfer-view");
    if (!view) return;
    if (!loading) {
      loading = [];
      var sources = [view.dataset.d3Array, view.dataset.d3Sankey];
      var next = function () {
        var src = sources.shift();
        if (!src) {
          loading.forEach(function (wait) { wait(); });
          loading = "done";
          return;
        }
        var script = document.createElement("script");
        script.src = src;
        script.onload = next;
        document.head.appendChild(script);
      };
      next();
    }
    if (loading === "done") then();
    else loading.push(then);
  }

  var PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#17becf"];
  var INACTIVE = "#8c8c8c";
  var SVG = "http://www.w3.org/2000/svg";

  function svg(tag, attributes, children) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  function sankeyGraph(msg) {
    var labels = labelsOf(msg);
    var order = {};
    msg.choices.forEach(function (c, index) {
      order[c.id] = index;
    });
    var nodes = [];
    var links = [];
    var known = {};
    function node(round, id, votes) {
      var key = round + ":" + id;
      if (!known[key] && votes > 0) {
        known[key] = true;
        nodes.push({
          key: key, round: round, id: id, votes: votes,
          name: id === "inactive" ? gettext("inactive") : label(labels, id),
          order: id === "inactive" ? 1e6 : order[id],
          color: id === "inactive" ? INACTIVE : PALETTE[order[id] % PALETTE.length],
        });
      }
      return key;
    }
    function link(from, to, value) {
      if (value > 0 && known[from] && known[to]) links.push({ source: from, target: to, value: value });
    }
    msg.rounds.forEach(function (round, index) {
      round.counts.forEach(function (c) {
        node(index, c.id, c.votes);
      });
      node(index, "inactive", round.exhausted);
    });
    msg.rounds.forEach(function (round, index) {
      var after = msg.rounds[index + 1];
      if (!after) return;
      var going = (round.eliminations || []).map(function (m) { return m.id; });
      round.counts.forEach(function (c) {
        if (going.indexOf(c.id) < 0) link(index + ":" + c.id, index + 1 + ":" + c.id, c.votes);
      });
      (round.eliminations || []).forEach(function (move) {
        move.transfers.forEach(function (t) {
          link(index + ":" + move.id, index + 1 + ":" + t.id, t.votes);
        });
        link(index + ":" + move.id, index + 1 + ":inactive", move.exhausted);
      });
      link(index + ":inactive", index + 1 + ":inactive", round.exhausted);
    });
    return { nodes: nodes, links: links };
  }

  function markSankey(number) {
    var chart = document.getElementById("sankey-chart");
    if (!chart) return;
    Array.prototype.forEach.call(chart.querySelectorAll("[data-column]"), function (column) {
      column.classList.toggle("picked", column.getAttribute("data-column") === String(number));
    });
  }

  function drawSankey(msg) {
    var figure = document.getElementById("sankey");
    var chart = document.getElementById("sankey-chart");
    if (!figure || !chart || msg.rounds.length < 2 || !window.d3 || !window.d3.sankey) {
      if (figure) figure.hidden = true;
      return;
    }
    figure.hidden = false;
    var data = sankeyGraph(msg);
    // Room for the first round's names between its column and the next: a narrow screen
    // scrolls the chart sideways (its region takes the keyboard) rather than overlap them.
    var width = Math.max(300, chart.clientWidth || 600, 200 + 100 * (msg.rounds.length - 1));
    var first = msg.rounds[0].counts.length + 1;
    var height = Math.max(220, Math.min(560, first * 26));
    var top = 22;
    var layout = window.d3
      .sankey()
      .nodeId(function (d) { return d.key; })
      .nodeAlign(window.d3.sankeyLeft)
      .nodeSort(function (a, b) { return a.order - b.order; })
      .nodeWidth(10)
      .nodePadding(4)
      .extent([[1, top], [width - 1, height - 2]]);
    var graph = layout({ nodes: data.nodes, links: data.links });
    var picture = svg("svg", {
      viewBox: "0 0 " + width + " " + height,
      width: width,
      height: height,
      role: "img",
      "aria-labelledby": "sankey-caption",
      class: "sankey-svg",
    });
    var columns = svg("g", { class: "sankey-columns" });
    msg.rounds.forEach(function (_, index) {
      var x = graph.nodes.filter(function (n) { return n.round === index; })[0];
      if (!x) return;
      var column = svg("g", { "data-column": String(index + 1) });
      column.appendChild(svg("rect", { class: "sankey-column", x: x.x0 - 4, y: 0, width: x.x1 - x.x0 + 8, height: height }));
      column.appendChild(svg("text", { class: "sankey-round", x: (x.x0 + x.x1) / 2, y: 14, "text-anchor": "middle" }, [String(index + 1)]));
      columns.appendChild(column);
    });
    picture.appendChild(columns);
    var bands = svg("g", { class: "sankey-links", fill: "none" });
    graph.links.forEach(function (l) {
      var mid = (l.source.x1 + l.target.x0) / 2;
      var d = "M" + l.source.x1 + "," + l.y0 + "C" + mid + "," + l.y0 + " " + mid + "," + l.y1 + " " + l.target.x0 + "," + l.y1;
      var path = svg("path", { d: d, "stroke-width": Math.max(1, l.width), class: "sankey-link" }, [
        svg("title", {}, [l.source.name + " → " + l.target.name + ": " + grouped(l.value)]),
      ]);
      path.style.stroke = l.source.id === "inactive" ? INACTIVE : l.source.color;
      bands.appendChild(path);
    });
    picture.appendChild(bands);
    var last = msg.rounds.length - 1;
    var boxes = svg("g", { class: "sankey-nodes" });
    graph.nodes.forEach(function (n) {
      var rect = svg("rect", { x: n.x0, y: n.y0, width: n.x1 - n.x0, height: Math.max(1, n.y1 - n.y0), class: "sankey-node" }, [
        svg("title", {}, [fill(gettext("Round %(number)s"), { number: n.round + 1 }) + ", " + n.name + ": " + grouped(n.votes)]),
      ]);
      rect.style.fill = n.color;
      boxes.appendChild(rect);
      // Names where there is room: the first round's on the right, the last's on the left.
      if ((n.round === 0 || n.round === last) && n.y1 - n.y0 >= 9) {
        var right = n.round === 0;
        boxes.appendChild(
          svg("text", {
            class: "sankey-label",
            x: right ? n.x1 + 4 : n.x0 - 4,
            y: (n.y0 + n.y1) / 2,
            dy: "0.35em",
            "text-anchor": right ? "start" : "end",
          }, [n.name + " " + grouped(n.votes)])
        );
      }
    });
    picture.appendChild(boxes);
    chart.textContent = "";
    chart.appendChild(picture);
  }

  // A phone turned, a window resized: the Sankey is drawn again at the new width.
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      if (lastMsg && window.d3 && window.d3.sankey) {
        drawSankey(lastMsg);
        markSankey(picked && picked <= lastMsg.rounds.length ? picked : lastMsg.rounds.length);
      }
    }, 200);
  });

  function drawTransferView(msg) {
    lastMsg = msg;
    said = describe(msg);
    pickerEvents();
    drawTransfersTable(msg);
    if (!msg.rounds.length) return;
    var number = drawPicker(msg);
    drawDetail(msg, number);
    withSankey(function () {
      drawSankey(lastMsg);
      markSankey(picked && picked <= lastMsg.rounds.length ? picked : lastMsg.rounds.length);
    });
  }

  var shareOf, h, paintBar;

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

  // Every choice that goes after a round: one, or several together (a batch, all tied).
  function going(round) {
    if (round.eliminated !== null && round.eliminated !== undefined) return [round.eliminated];
    return (round.eliminations || []).map(function (move) {
      return move.id;
    });
  }

  function goingNames(labels, round) {
    return going(round)
      .map(function (id) {
        return label(labels, id);
      })
      .join(", ");
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
    if (going(round).length) {
      return interpolate(gettext("%(choice)s eliminated"), { choice: goingNames(labels, round) }, true);
    }
    if (winner !== null && winner !== undefined) {
      return interpolate(gettext("%(choice)s has more than half"), { choice: label(labels, winner) }, true);
    }
    return last ? gettext("No ballots left in the count") : "";
  }

  function outflowText(labels, round, choice) {
    // As polls/kinds/ranked.py _outflow: the choice's own transfers when several go.
    var move = (round.eliminations || []).filter(function (m) {
      return m.id === choice;
    })[0];
    var transfers = move ? move.transfers : round.transfers;
    var exhausted = move ? move.exhausted : round.transferred_to_exhausted;
    var parts = transfers.map(function (t) {
      return label(labels, t.id) + " +" + t.votes;
    });
    if (exhausted) {
      parts.push(interpolate(gettext("exhausted +%(votes)s"), { votes: exhausted }, true));
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
    var source = before ? goingNames(labels, before) : "";
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
      h("div", "round-words", (said[index] || []).map(function (sentence) {
        return h("p", "", [sentence]);
      })),
    ]);
    item.dataset.round = String(index + 1);
    var rows = h("ul", "round-rows");
    round.counts.forEach(function (c) {
      var out = going(round).indexOf(c.id) >= 0;
      var won = last && c.id === msg.winner;
      var gain = gained[c.id] || 0;
      var meter = h("progress", "meter", [shareOf(c) + "%"]);
      meter.max = active || 1;
      meter.value = c.votes;
      meter.setAttribute("aria-label", interpolate(gettext("%(label)s, round %(number)s"), { label: label(labels, c.id), number: index + 1 }, true));
      var bar = h("div", "bar", [
        meter,
        decorative("span", "fill"),
        decorative("span", "fill-gain"),
        decorative("span", "majority"),
      ]);
      bar.dataset.gain = String(gain);
      var outflow = out ? outflowText(labels, round, c.id) : "";
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
          interpolate(gettext("Inactive ballots (no choice left in the count): %(count)s"), { count: round.exhausted }, true),
          fromBefore ? " " : "",
          fromBefore ? h("span", "gain", [interpolate(gettext("+%(gain)s from %(source)s"), { gain: fromBefore, source: source }, true)]) : null,
          byReason(round.inactive) ? " " : "",
          byReason(round.inactive) ? h("span", "reasons", [interpolate(gettext("Of them: %(reasons)s"), { reasons: byReason(round.inactive) }, true)]) : null,
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
        var out = going(round).indexOf(choice.id) >= 0;
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
    var exhausted = h("tr", "exhausted-row", [th("row", gettext("Inactive"))]);
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

  function drawRounds(msg) {
    var labels = labelsOf(msg);
    said = describe(msg);
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
    drawTransferView(msg);
  }

  function draw(view, msg) {
    shareOf = view.tools.shareOf;
    h = view.tools.h;
    paintBar = view.tools.paintBar;
    drawRounds(msg);
  }

  function summary() {
    var outcome = document.getElementById("outcome");
    return outcome ? [outcome.textContent.trim()] : [];
  }

  // --- Its ballot, in `root` (a page, or a session's part swapped in) -----------------

  function ballot(root) {
    var selectsBox = root.querySelector(".rank-selects");
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
        item.setAttribute("aria-label", interpolate(gettext("%(name)s, %(ordinal)s choice"), { name: name, ordinal: ordinal(index + 1) }, true));
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
        item.setAttribute("aria-label", interpolate(gettext("%(name)s, not ranked"), { name: name }, true));
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
      changed(next, interpolate(gettext("%(name)s ranked %(ordinal)s."), { name: labels[id], ordinal: ordinal(ranking.length) }, true));
    }

    function move(id, to) {
      var from = ranking.indexOf(id);
      if (to < 0 || to >= ranking.length) {
        say(interpolate(gettext("%(name)s is already %(ordinal)s."), { name: labels[id], ordinal: ordinal(from + 1) }, true));
        return;
      }
      ranking.splice(from, 1);
      ranking.splice(to, 0, id);
      changed(id, interpolate(gettext("%(name)s moved to %(ordinal)s choice."), { name: labels[id], ordinal: ordinal(to + 1) }, true));
    }

    function remove(id) {
      var from = ranking.indexOf(id);
      ranking.splice(from, 1);
      var next = ranking[from] || ranking[from - 1] || id;
      changed(next, interpolate(gettext("%(name)s taken out of your ranking."), { name: labels[id] }, true));
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
      changed(id, interpolate(gettext("%(name)s moved to %(ordinal)s choice."), { name: labels[id], ordinal: ordinal(ranking.indexOf(id) + 1) }, true));
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
  }

  var kinds = (window.PollKinds = window.PollKinds || {});
  kinds.ranked = { draw: draw, summary: summary, ballot: ballot, describe: describe };
  ballot(document); // a page's own form, as it loads (a session's next ones: session.js)
})();
