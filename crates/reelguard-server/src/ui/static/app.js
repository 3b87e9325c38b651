// Keyboard shortcuts and the safe-review steps of the workbench. Progressive: every action is
// also a plain link or form. The script holds no words: it reads them from the page's
// #rg-messages block, which the server fills from the message catalogue.
(function () {
  "use strict";
  var messages = {};

  function msg(key, args) {
    var text = messages[key] || key;
    Object.keys(args || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(args[name]));
    });
    return text;
  }

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
      var open = row && row.querySelector("a.open-match");
      if (e.key === "j") { select(at + 1); e.preventDefault(); }
      else if (e.key === "k") { select(at - 1); e.preventDefault(); }
      else if ((e.key === "o" || e.key === "Enter") && open) {
        window.location.href = open.getAttribute("href");
        e.preventDefault();
      } else if (e.key === "c" && open) {
        // Confirming needs the evidence seen, which happens on the match page: `c` takes the
        // reviewer to its decision, where confirming asks once more.
        window.location.href = open.getAttribute("href") + "#decision";
        e.preventDefault();
      } else if (e.key === "x" && row) {
        var form = row.querySelector("form.quick");
        if (!form) return;
        var reason = window.prompt(msg("js.reject_prompt"));
        if (!reason || !reason.trim()) return;
        form.querySelector("input[name=reason]").value = reason;
        form.submit();
        e.preventDefault();
      }
    });
  }

  // The match page: confirm opens once every still pair has been in view with its images
  // loaded; pressing it (or `c`) asks once in a dialog before the form is sent.
  function matchPage(form) {
    var reason = form.querySelector("textarea[name=reason]");
    var confirm = form.querySelector("button[value=confirm]");
    var progress = document.getElementById("evidence-progress");
    var viewedField = form.querySelector("input[name=viewed]");
    var dialog = document.getElementById("confirm-dialog");
    var gated = Array.prototype.slice.call(document.querySelectorAll("button.needs-viewing"));
    var pairs = Array.prototype.slice.call(document.querySelectorAll("#stills .thumb-pair"));
    var seen = {};
    var asked = null;

    function loaded(pair) {
      return Array.prototype.every.call(pair.querySelectorAll("img"), function (i) {
        return i.complete && i.naturalWidth > 0;
      });
    }
    function update() {
      var done = pairs.filter(function (p) { return seen[p.dataset.still]; });
      viewedField.value = done.map(function (p) { return p.dataset.still; }).join(",");
      var all = done.length === pairs.length;
      confirm.disabled = !all;
      gated.forEach(function (b) { b.disabled = !all; });
      if (progress) {
        progress.textContent = all ? msg("js.viewed_all") : msg("js.unviewed", { left: pairs.length - done.length });
        progress.classList.toggle("done", all);
      }
    }
    function mark(pair) {
      if (seen[pair.dataset.still] || !loaded(pair)) return;
      seen[pair.dataset.still] = true;
      pair.classList.add("viewed");
      update();
    }
    if ("IntersectionObserver" in window) {
      var observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (entry.intersectionRatio >= 0.6) mark(entry.target);
        });
      }, { threshold: [0.6, 1] });
      pairs.forEach(function (p) {
        observer.observe(p);
        // An image that loads while its pair is already in view.
        Array.prototype.forEach.call(p.querySelectorAll("img"), function (img) {
          img.addEventListener("load", function () {
            var r = p.getBoundingClientRect();
            var visible = Math.min(r.bottom, window.innerHeight) - Math.max(r.top, 0);
            if (r.height > 0 && visible / r.height >= 0.6) mark(p);
          });
        });
      });
    }
    update();

    form.addEventListener("submit", function (e) {
      var by = e.submitter;
      if (!by || (by.value !== "confirm" && by.value !== "confirm_unviewed")) return;
      if (by.value === "confirm_unviewed") {
        var why = form.querySelector("input[name=unviewed_reason]");
        if (!why.value.trim()) {
          e.preventDefault();
          why.focus();
          if (progress) progress.textContent = msg("js.reason_needed");
          return;
        }
      }
      if (asked === by) { asked = null; return; }
      e.preventDefault();
      if (dialog && dialog.showModal) {
        asked = by;
        dialog.showModal();
      } else if (window.confirm(msg("js.confirm_question"))) {
        asked = by;
        form.requestSubmit(by);
      }
    });
    if (dialog) {
      document.getElementById("confirm-yes").addEventListener("click", function () {
        var by = asked;
        dialog.close();
        if (by) form.requestSubmit(by);
      });
      document.getElementById("confirm-no").addEventListener("click", function () {
        asked = null;
        dialog.close();
      });
      dialog.addEventListener("cancel", function () { asked = null; });
    }

    document.addEventListener("keydown", function (e) {
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey || (dialog && dialog.open)) return;
      if (e.key === "c") {
        e.preventDefault();
        if (confirm.disabled) {
          var next = pairs.filter(function (p) { return !seen[p.dataset.still]; })[0];
          if (next) next.scrollIntoView({ block: "center" });
          return;
        }
        if (!reason.value.trim()) {
          reason.focus();
          if (progress) progress.textContent = msg("js.reason_needed");
          return;
        }
        confirm.click();
      } else if (e.key === "x") {
        reason.focus();
        if (reason.value.trim()) form.querySelector("button[value=reject]").click();
        e.preventDefault();
      }
    });
    if (window.location.hash === "#decision") reason.focus({ preventScroll: true });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var block = document.getElementById("rg-messages");
    if (block) {
      try { messages = JSON.parse(block.textContent); } catch (err) { messages = {}; }
    }
    if (document.getElementById("queue")) queue();
    var form = document.getElementById("decision");
    if (form) matchPage(form);
  });
})();
