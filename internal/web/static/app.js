// hookline portal: small enhancements; every page works without them.
"use strict";
document.addEventListener("click", function (ev) {
  var el = ev.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) {
    ev.preventDefault();
  }
  var copy = ev.target.closest("[data-copy]");
  if (copy && navigator.clipboard) {
    var src = document.getElementById(copy.getAttribute("data-copy"));
    navigator.clipboard.writeText(src.textContent.trim()).then(function () {
      copy.textContent = "Copied";
      setTimeout(function () { copy.textContent = "Copy"; }, 2000);
    });
  }
});
document.addEventListener("DOMContentLoaded", function () {
  if (navigator.clipboard) {
    document.querySelectorAll("[data-copy]").forEach(function (b) { b.hidden = false; });
  }
  // After a refused form, take keyboard and screen reader users to what
  // went wrong.
  var errors = document.querySelector(".errors");
  if (errors) {
    errors.focus();
  }
  // A page with a delivery on its way reloads until it has arrived.
  var refresh = document.querySelector("[data-refresh]");
  if (refresh) {
    setTimeout(function () { window.location.reload(); }, 1000 * Number(refresh.getAttribute("data-refresh")));
  }
  document.body.setAttribute("data-ready", "true");
});
