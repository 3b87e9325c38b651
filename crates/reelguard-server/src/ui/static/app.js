// Keyboard shortcuts for the review workbench. Progressive: every action here is also a plain
// link or form that works without script.
(function () {
  "use strict";
  var QUICK_REASON = "Confirmed from the review queue: matched segments and stills.";

  function typing(event) {
    var t = event.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  function queue() {
    var rows = Array.prototype.slice.call(document.querySelectorAll("#queue tr.match-row"));
    var at = -1;
    function select(i) {
      if (!rows.length) return;
      at = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach(function (r, k) { r.classList.toggle("selected", k === at); });
      rows[at].scrollIntoView({ block: "nearest" });
    }
    function current() { return at >= 0 ? rows[at] : null; }
    document.addEventListener("keydown", function (e) {
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      var row = current();
      if (e.key === "j") { select(at + 1); e.preventDefault(); }
      else if (e.key === "k") { select(at - 1); e.preventDefault(); }
      else if ((e.key === "o" || e.key === "Enter") && row) {
        window.location.href = row.querySelector("a.open-match").getAttribute("href");
        e.preventDefault();
      } else if (e.key === "c" && row) {
        // A click, not form.submit(): only a submitting button sends its name=value.
        row.querySelector("button.quick-confirm").click();
        e.preventDefault();
      } else if (e.key === "x" && row) {
        var reason = window.prompt("Why is this not an infringement?");
        if (!reason) return;
        var form = row.querySelector("form.quick");
        form.querySelector("input[name=reason]").value = reason;
        var decision = document.createElement("input");
        decision.type = "hidden"; decision.name = "decision"; decision.value = "reject";
        form.appendChild(decision);
        form.querySelector("button[name=decision]").remove();
        form.submit();
        e.preventDefault();
      }
    });
  }

  function matchPage(form) {
    var reason = form.querySelector("textarea[name=reason]");
    document.addEventListener("keydown", function (e) {
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "c") {
        if (!reason.value.trim()) reason.value = QUICK_REASON;
        form.querySelector("button[value=confirm]").click();
        e.preventDefault();
      } else if (e.key === "x") {
        reason.focus();
        if (reason.value.trim()) form.querySelector("button[value=reject]").click();
        e.preventDefault();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.getElementById("queue")) queue();
    var form = document.getElementById("decision");
    if (form) matchPage(form);
  });
})();
