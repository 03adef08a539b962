/* Behaviour every page shares, kept out of the templates so the Content-Security-Policy
   can forbid inline script (issue 17): confirmation prompts, selects that submit their
   form, and the "select all" box of bulk lists. */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    // <button data-confirm="question?">: the browser asks before the form is sent
    document.querySelectorAll("[data-confirm]").forEach(function (b) {
      b.addEventListener("click", function (e) { if (!window.confirm(b.dataset.confirm)) { e.preventDefault(); } });
    });
    // <select data-autosubmit>: choosing a value applies it at once
    document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () { if (s.form) { s.form.submit(); } });
    });
    // <table data-select-all="title">: a box in the first header cell ticks every ids box
    document.querySelectorAll("table[data-select-all]").forEach(function (table) {
      var th = table.querySelector("tr th");
      if (!th) { return; }
      var all = document.createElement("input");
      all.type = "checkbox"; all.title = table.dataset.selectAll; all.id = "select-all";
      all.addEventListener("change", function () {
        document.querySelectorAll("input[name=ids]").forEach(function (c) { c.checked = all.checked; });
      });
      th.appendChild(all);
    });
  });
})();
