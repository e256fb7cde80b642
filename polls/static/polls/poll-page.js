// The poll page, with JavaScript: (1) a vote being stored is asked after (the status
// endpoint, GET /api/polls/<slug>/votes/<vote_id>) until the worker has stored or refused
// it, and the mark changes (announced: aria-live); (2) the share link shares (Web Share
// API) or copies the address. Without this script the page says "being stored" until a
// reload, and the share link is a plain link to the poll; (3) the receipt copies.
(function () {
  "use strict";
  // Django's JavaScript catalogue (jsi18n), English without it (polls/i18n.js).
  var gettext = window.gettext;
  var interpolate = window.interpolate;

  // After a vote the confirmation (Django's message) takes the focus: a screen reader
  // reads it, and the keyboard goes on from there rather than from the top of the page.
  var confirmation = document.getElementById("messages");
  if (confirmation) confirmation.focus();

  var mark = document.getElementById("your-vote");
  if (mark && mark.dataset.statusUrl && window.fetch) {
    var waitMs = 500;
    var givenUp = Date.now() + 120000;
    var check = function () {
      fetch(mark.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (status) {
          if (status && status.status === "stored") return stored();
          if (status && status.status === "refused") return refused(status.reason);
          again();
        })
        .catch(again);
    };
    var again = function () {
      if (Date.now() > givenUp) return;
      waitMs = Math.min(waitMs * 1.5, 3000);
      setTimeout(check, waitMs);
    };
    var stored = function () {
      mark.classList.remove("storing-vote");
      mark.querySelector(".your-vote-state").textContent = gettext("Your vote is stored.");
      Array.prototype.forEach.call(document.querySelectorAll(".storing"), function (node) {
        node.remove();
      });
    };
    var refused = function (reason) {
      mark.classList.remove("storing-vote");
      mark.classList.add("error");
      mark.setAttribute("role", "alert");
      mark.textContent = interpolate(
        gettext("Your vote was not counted (%(reason)s). Reload the page to see your vote as stored."),
        { reason: reason || gettext("refused") },
        true
      );
    };
    setTimeout(check, 300);
  }

  var share = document.querySelector("[data-share-url]");
  if (share) {
    var said = document.querySelector(".share-said");
    var url = share.dataset.shareUrl;
    var canShare = typeof navigator.share === "function";
    var canCopy = navigator.clipboard && typeof navigator.clipboard.writeText === "function";
    if (canShare || canCopy) {
      share.textContent = canShare ? gettext("Share this poll") : gettext("Copy link");
      share.setAttribute("role", "button");
      share.addEventListener("keydown", function (event) {
        if (event.key === " ") share.click(); // a button takes Space as well as Enter
      });
      share.addEventListener("click", function (event) {
        event.preventDefault();
        if (canShare) {
          navigator.share({ title: share.dataset.shareTitle, url: url }).catch(function () {});
          return;
        }
        navigator.clipboard.writeText(url).then(
          function () {
            said.textContent = interpolate(gettext("Link copied: %(url)s"), { url: url }, true);
          },
          function () {
            said.textContent = interpolate(gettext("Could not copy; the link is %(url)s"), { url: url }, true);
          }
        );
      });
    }
  }

  // (3) The receipt's copy button: hidden without this script (the code is plain text).
  var copyReceipt = document.querySelector(".copy-receipt");
  if (copyReceipt && navigator.clipboard && typeof navigator.clipboard.writeText === "function") {
    var receiptSaid = document.querySelector(".receipt-said");
    copyReceipt.hidden = false;
    copyReceipt.addEventListener("click", function () {
      var code = copyReceipt.dataset.copy;
      navigator.clipboard.writeText(code).then(
        function () {
          receiptSaid.textContent = interpolate(gettext("Receipt copied: %(code)s"), { code: code }, true);
        },
        function () {
          receiptSaid.textContent = interpolate(gettext("Could not copy; your receipt is %(code)s"), { code: code }, true);
        }
      );
    });
  }
})();
