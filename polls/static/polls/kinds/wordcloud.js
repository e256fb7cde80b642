// Word cloud: the server renders the terms as a ranked list with counts (the page without
// JavaScript, and the cloud's text alternative); this draws the cloud from that list with
// wordcloud2.js (vendored, loaded only where a cloud shows) and redraws both from later
// snapshots. A placed word stays where it is while its size step does not change: only new
// or resized words are laid out, around the words already there (a cloud that jumps on a
// projector is what people complain of). Its ballot's character count and the totals are
// polls/text-entries.js's, loaded before it.
(function () {
  "use strict";
  var kinds = (window.PollKinds = window.PollKinds || {});

  // Font size per step (1 smallest .. 5 largest), in times the largest step's size.
  var SIZES = [0.3, 0.42, 0.56, 0.75, 1];
  // The largest step's size: a seventh of the cloud's height, one level smaller (times
  // SHRINK) each time the words would fill more than FILL of the cloud, LEVELS levels at
  // most. A level only ever shrinks, until the cloud is resized: at each of these few
  // steps every word is laid out again; in between a placed word keeps its place.
  var LARGEST = 1 / 7;
  var SHRINK = 0.8;
  var LEVELS = 6;
  var FILL = 0.38;
  var PAD = 3; // px kept free around a placed word

  function levelFor(terms, width, height) {
    // The area the words ask for at a largest size of 1 px: a letter about 0.6 em wide.
    var demand = terms.reduce(function (sum, t) {
      var ratio = SIZES[Math.max(1, Math.min(5, t.step)) - 1];
      return sum + ratio * ratio * 0.6 * Math.max(3, t.text.length);
    }, 0);
    var largest = sizeAt(0, width, height);
    var level = 0;
    while (level < LEVELS - 1 && demand * largest * largest > FILL * width * height) {
      level++;
      largest = sizeAt(level, width, height);
    }
    return level;
  }

  function sizeAt(level, width, height) {
    return Math.min(height, (width * 9) / 16) * LARGEST * Math.pow(SHRINK, level);
  }

  // --- The library, loaded once, where a cloud shows -----------------------------------

  var loading = null;
  function library(url, ready) {
    if (window.WordCloud) return ready();
    if (!loading) {
      loading = [];
      var script = document.createElement("script");
      script.src = url;
      script.onload = function () {
        var waiting = loading;
        loading = [];
        waiting.forEach(function (fn) {
          fn();
        });
      };
      document.head.appendChild(script);
    }
    loading.push(ready);
  }

  // --- The ranked list: what the server rendered, then each snapshot -------------------

  function termsOf(root) {
    return Array.prototype.map.call(root.querySelectorAll("#terms .term"), function (li) {
      return {
        key: li.dataset.key,
        step: parseInt(li.dataset.step, 10) || 1,
        count: parseInt(li.dataset.count, 10) || 0,
        text: li.querySelector(".term-text").textContent,
      };
    });
  }

  function drawList(view, terms) {
    var h = view.tools.h;
    var list = view.root.querySelector("#terms");
    var before = {};
    termsOf(view.root).forEach(function (t) {
      before[t.key] = t.count;
    });
    var items = terms.map(function (t) {
      var li = h("li", "term", [h("span", "term-text", [t.text]), " ", h("span", "term-count", [String(t.count)])]);
      li.dataset.key = t.key; // text, never markup: dataset and text nodes only
      li.dataset.step = String(t.step);
      li.dataset.count = String(t.count);
      if (before[t.key] !== t.count) li.classList.add("bump");
      return li;
    });
    list.replaceChildren.apply(list, items);
  }

  // --- The cloud ------------------------------------------------------------------------

  function layout(root) {
    var box = root.querySelector("#cloud-words");
    if (!box || !window.WordCloud || !window.WordCloud.isSupported) return;
    var width = box.clientWidth;
    var height = box.clientHeight;
    if (!width || !height) return; // not shown (yet)
    var terms = termsOf(root);
    var level = levelFor(terms, width, height);
    var state = box.cloudState;
    if (!state || state.width !== width || state.height !== height || level > state.level) {
      // First drawing, a new size (a resized window) or a denser cloud: everything is laid
      // out again.
      state = box.cloudState = { width: width, height: height, level: level, canvas: document.createElement("canvas") };
      state.canvas.width = width;
      state.canvas.height = height;
      state.canvas.getContext("2d", { willReadFrequently: true }); // read back at each layout
      box.replaceChildren();
    }
    var wanted = {};
    terms.forEach(function (t) {
      wanted[t.key] = t;
    });
    // Keep each placed word whose term is still shown at the same step and spelling.
    var kept = {};
    Array.prototype.slice.call(box.querySelectorAll("span[data-key]")).forEach(function (span) {
      var t = wanted[span.dataset.key];
      if (t && String(t.step) === span.dataset.step && t.text === span.textContent && !kept[t.key]) {
        kept[t.key] = span;
      } else {
        span.remove();
      }
    });
    // What is taken: the kept words' boxes, drawn on a canvas wordcloud2.js reads (its
    // clearCanvas: false), so new words go around them.
    var ctx = state.canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "#000";
    Object.keys(kept).forEach(function (key) {
      var span = kept[key];
      ctx.fillRect(span.offsetLeft - PAD, span.offsetTop - PAD, span.offsetWidth + 2 * PAD, span.offsetHeight + 2 * PAD);
    });
    var fresh = terms
      .filter(function (t) {
        return !kept[t.key];
      })
      .sort(function (a, b) {
        return b.step - a.step || b.count - a.count;
      })
      .map(function (t) {
        return { word: t.text, weight: t.step, attributes: { "data-key": t.key, "data-step": String(t.step) } };
      });
    box.classList.toggle("cloud-drawn", terms.length > 0);
    root.querySelector("#cloud").classList.toggle("cloud-shown", terms.length > 0);
    if (!fresh.length) return;
    var largest = sizeAt(state.level, width, height);
    var keyOf = {}; // the library hands its callbacks the word: its key picks its colour
    terms.forEach(function (t) {
      keyOf[t.text] = t.key;
    });
    window.WordCloud([state.canvas, box], {
      list: fresh,
      clearCanvas: false,
      backgroundColor: "rgba(0,0,0,0)",
      fontFamily: window.getComputedStyle(box).fontFamily,
      fontWeight: "650",
      gridSize: Math.max(4, Math.round(largest / 7)), // coarse: words keep some space
      weightFactor: function (step) {
        return Math.max(10, Math.round(largest * SIZES[Math.max(1, Math.min(5, step)) - 1]));
      },
      color: function () {
        return ""; // the stylesheet colours each word (its hue), in the light and dark theme
      },
      classes: function (word, step) {
        return "cloud-word step-" + step + " hue-" + hue(keyOf[word] || word);
      },
      rotateRatio: 0,
      shuffle: true, // around the words there, not always above them first
      drawOutOfBound: false,
      shrinkToFit: false,
    });
  }

  function hue(text) {
    // One of five colours per term (by its key), the same on every screen and drawing.
    var sum = 0;
    for (var i = 0; i < text.length; i++) sum = (sum * 31 + text.charCodeAt(i)) % 9973;
    return (sum % 5) + 1;
  }

  function draw(view, msg) {
    var root = view.root;
    window.TextEntries.drawTotals(view, msg, "cloud");
    drawList(view, msg.terms || []);
    var empty = root.querySelector("#cloud-empty");
    if (empty) empty.hidden = (msg.terms || []).length > 0;
    start(root);
  }

  function start(root) {
    var cloud = root.querySelector("#cloud");
    if (!cloud) return;
    if (!termsOf(root).length && !window.WordCloud) return; // nothing to draw yet
    library(cloud.dataset.library, function () {
      layout(root);
    });
  }

  function init(view) {
    var root = view.root;
    start(root);
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (root.isConnected) layout(root);
      }, 250);
    });
  }

  function summary(view) {
    // The three most given words, said with the totals.
    return termsOf(view.root)
      .slice(0, 3)
      .map(function (t) {
        return t.text + " " + t.count;
      });
  }

  kinds.wordcloud = { draw: draw, init: init, summary: summary };
})();
