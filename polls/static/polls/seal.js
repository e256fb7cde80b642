// Keeps a page's seal (polls/_seal.html) current: results.js announces each snapshot it
// draws as a "results:rendered" event on the document, the snapshot as its detail.
(function () {
  "use strict";
  document.addEventListener("results:rendered", function (event) {
    var seal = event.detail && event.detail.seal;
    var box = document.getElementById("seal");
    if (!seal || !box) return;
    var hash = box.querySelector("#seal-hash");
    hash.textContent = seal.hash.slice(0, 16);
    hash.dataset.hash = seal.hash;
    box.querySelector('[data-seal-label="live"]').hidden = seal.final;
    box.querySelector('[data-seal-label="final"]').hidden = !seal.final;
  });
})();
