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
// A live tail: rows for the requests a source's stream sends, added at
// the top of its table. Without JS the page says to reload.
document.addEventListener("DOMContentLoaded", function () {
  var table = document.querySelector("[data-tail]");
  if (!table || !window.EventSource) {
    return;
  }
  var status = document.querySelector("[data-test-id=tail-status]");
  var body = table.querySelector("tbody");
  var source = new EventSource(table.getAttribute("data-tail"));
  source.addEventListener("open", function () {
    status.textContent = status.getAttribute("data-live");
    table.setAttribute("data-live", "true");
  });
  source.addEventListener("error", function () {
    status.textContent = status.getAttribute("data-lost");
  });
  source.addEventListener("request", function (ev) {
    var r = JSON.parse(ev.data);
    if (body.querySelector("tr[data-id='" + r.id + "']")) {
      return;
    }
    var row = document.createElement("tr");
    row.setAttribute("data-test-id", "request");
    row.setAttribute("data-id", r.id);
    row.className = "arrived";
    var when = document.createElement("td");
    var link = document.createElement("a");
    link.href = r.url;
    var time = document.createElement("time");
    time.dateTime = r.receivedAt;
    time.textContent = r.when;
    link.appendChild(time);
    var id = document.createElement("code");
    id.className = "muted";
    id.textContent = r.id;
    when.append(link, document.createElement("br"), id);
    var type = document.createElement("td");
    if (r.eventType) {
      var code = document.createElement("code");
      code.textContent = r.eventType;
      type.appendChild(code);
    } else {
      var none = document.createElement("span");
      none.className = "muted";
      none.textContent = "none";
      type.appendChild(none);
    }
    var what = document.createElement("td");
    what.textContent = r.method + " · " + r.size;
    row.append(when, type, what);
    body.insertBefore(row, body.firstChild);
    var empty = document.querySelector("[data-test-id=tail-empty]");
    if (empty) {
      empty.remove();
    }
  });
});
