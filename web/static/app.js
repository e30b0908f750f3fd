/*
 * Signoff — optional enhancements. Load with <script src=".../app.js" defer>
 * after htmx and its SSE extension. Every page works without this file:
 * forms post, links navigate, <details> open and close on their own.
 *
 * What it adds:
 *   - htmx config that fits a strict Content-Security-Policy
 *   - theme toggle ([data-theme-toggle]) remembered in localStorage and a
 *     "theme" cookie (so the server can render <html data-theme> and avoid
 *     a flash); ?theme=dark|light in the URL sets it for one page view
 *   - <dialog> helpers: [data-dialog-open="id"] opens #id as a modal
 *     (a link keeps its href as the no-JS fallback), [data-dialog-close]
 *     closes the dialog it sits in; a click on the backdrop closes too
 *   - keyboard shortcuts on pages with [data-item-row] rows:
 *       j / k   next / previous item row
 *       x, space  tick / untick the focused row
 *       n       open N/A for the focused row
 *       c       open comments for the focused row
 *       o       next open item after the focused row ([data-next-open])
 *       /       focus the filter box ([data-filter])
 *       ?       show <dialog id="shortcuts">
 *       Esc     leave the filter box / close menus
 *   - countdowns: <time data-countdown datetime="ISO-8601"> renders
 *     "due in 1h 20m" / "overdue by 5m" every 30s and toggles .is-overdue
 *     (on the <time> and on its closest .item or .section)
 *   - relative times: <time data-relative datetime="…"> renders "5m ago"
 *   - client-side filter of item rows while typing in [data-filter], kept
 *     on blocks that ticks and live updates swap in
 *   - live indicator [data-live-indicator] follows the SSE connection
 *   - marks the phase in view in the phase navigator (.phase-link.is-current)
 *   - reloads the page when the event stream sends "reload"; closes the
 *     stream when the page is left (back/forward cache), reloads on return
 *   - keeps keyboard focus on an item row across its htmx swap
 *   - closes open <details class="menu"> / .popover on outside click or Esc
 *   - [data-dismiss] removes its closest .flash
 *   - [data-panel-close] (or Esc inside it) empties an item's .item-panel
 *   - opens the deployment page at its first open item ([data-first-open])
 *     when the address names no other place
 *   - [data-hide-done] hides resolved items without a reload (the link
 *     itself reloads with ?hide=done without JavaScript)
 *   - keeps focus on the item whose panel (N/A reason, comment) was sent
 */
(function () {
  "use strict";

  var doc = document;
  var root = doc.documentElement;
  var THEME_KEY = "signoff-theme";

  /* ------------------------------------------------------------------ htmx */
  // htmx reads <meta name="htmx-config"> when the document is ready; set the
  // same values here too, in case the page has no meta tag. Deferred scripts
  // run before DOMContentLoaded, so this lands before htmx initialises.
  if (window.htmx && window.htmx.config) {
    var cfg = window.htmx.config;
    cfg.includeIndicatorStyles = false; // no injected <style> (CSP style-src)
    cfg.allowEval = false;              // no eval/new Function (CSP script-src)
    cfg.allowScriptTags = false;        // never run <script> from responses
    cfg.historyCacheSize = 0;           // keep checklist pages out of localStorage
    cfg.scrollIntoViewOnBoost = false;  // a boosted item form swaps in place
  }

  /* ----------------------------------------------------------------- theme */
  function storedTheme() {
    try {
      return localStorage.getItem(THEME_KEY);
    } catch (e) {
      return null;
    }
  }

  function applyTheme(theme, persist) {
    if (theme === "light" || theme === "dark") {
      root.setAttribute("data-theme", theme);
    } else {
      root.removeAttribute("data-theme");
      theme = "system";
    }
    if (persist) {
      try {
        if (theme === "system") localStorage.removeItem(THEME_KEY);
        else localStorage.setItem(THEME_KEY, theme);
      } catch (e) { /* private mode: fine */ }
      var maxAge = theme === "system" ? 0 : 31536000;
      doc.cookie = "theme=" + theme + "; Path=/; Max-Age=" + maxAge + "; SameSite=Lax" +
        (location.protocol === "https:" ? "; Secure" : "");
    }
    syncThemeToggles();
  }

  function effectiveTheme() {
    var t = root.getAttribute("data-theme");
    if (t === "light" || t === "dark") return t;
    return window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function syncThemeToggles() {
    var dark = effectiveTheme() === "dark";
    doc.querySelectorAll("[data-theme-toggle]").forEach(function (btn) {
      btn.setAttribute("aria-pressed", dark ? "true" : "false");
      btn.setAttribute("title", dark ? "Switch to light theme" : "Switch to dark theme");
      var label = btn.querySelector("[data-theme-label]");
      if (label) label.textContent = dark ? "Light theme" : "Dark theme";
    });
  }

  (function initTheme() {
    var fromURL = null;
    try {
      fromURL = new URLSearchParams(location.search).get("theme");
    } catch (e) { /* old browser */ }
    if (fromURL === "light" || fromURL === "dark" || fromURL === "system") {
      applyTheme(fromURL, false); // for this page view only
    } else {
      var s = storedTheme();
      if (s === "light" || s === "dark") applyTheme(s, false);
      else syncThemeToggles();
    }
    if (window.matchMedia) {
      var mq = matchMedia("(prefers-color-scheme: dark)");
      if (mq.addEventListener) mq.addEventListener("change", syncThemeToggles);
    }
  })();

  /* --------------------------------------------------------------- dialogs */
  function openDialog(id, opener) {
    var d = doc.getElementById(id);
    if (!d || typeof d.showModal !== "function") return false;
    if (!d.open) {
      d._opener = opener || doc.activeElement;
      d.showModal();
      var first = d.querySelector("[autofocus], input:not([type=hidden]):not([disabled]), select, textarea");
      if (first) first.focus();
    }
    return true;
  }

  function closeDialog(d) {
    if (d && d.open) d.close();
  }

  doc.addEventListener("close", function (e) {
    var d = e.target;
    if (d && d.tagName === "DIALOG" && d._opener && doc.contains(d._opener)) {
      d._opener.focus();
      d._opener = null;
    }
  }, true);

  /* -------------------------------------------------------------- clicks */
  doc.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof Element)) return;

    var opener = t.closest("[data-dialog-open]");
    if (opener) {
      if (openDialog(opener.getAttribute("data-dialog-open"), opener)) e.preventDefault();
      return;
    }

    var closer = t.closest("[data-dialog-close]");
    if (closer) {
      var d = closer.closest("dialog");
      if (d) {
        e.preventDefault();
        closeDialog(d);
      }
      return;
    }

    // a click on a modal's backdrop lands on the <dialog> element itself
    if (t.tagName === "DIALOG" && t.open) {
      var r = t.getBoundingClientRect();
      var inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) closeDialog(t);
      return;
    }

    var toggle = t.closest("[data-theme-toggle]");
    if (toggle) {
      e.preventDefault();
      applyTheme(effectiveTheme() === "dark" ? "light" : "dark", true);
    }

    var panelClose = t.closest("[data-panel-close]");
    if (panelClose) {
      e.preventDefault();
      closePanel(panelClose.closest(".item-panel"));
      return;
    }

    var dismiss = t.closest("[data-dismiss]");
    if (dismiss) {
      var box = dismiss.closest(".flash, .callout");
      if (box) {
        e.preventDefault();
        box.remove();
      }
    }

    closeOpenDetails(t);
  });

  // An item's panel (comments, the N/A form) closes by emptying it; the
  // keyboard user lands back on the row.
  function closePanel(panel) {
    if (!panel) return;
    var li = panel.closest(".item");
    panel.innerHTML = "";
    var row = li && li.querySelector(":scope > [data-item-row]");
    if (row) focusRow(row);
  }

  function closeOpenDetails(except) {
    doc.querySelectorAll("details.menu[open], details.popover[open]").forEach(function (det) {
      if (!except || !det.contains(except)) det.removeAttribute("open");
    });
  }

  /* ------------------------------------------------------------ item rows */
  function rows() {
    return Array.prototype.filter.call(doc.querySelectorAll("[data-item-row]"), function (r) {
      return r.offsetParent !== null || r.getClientRects().length > 0;
    });
  }

  function currentRow() {
    var a = doc.activeElement;
    return a && a.closest ? a.closest("[data-item-row]") : null;
  }

  function focusRow(row) {
    if (!row) return;
    if (!row.hasAttribute("tabindex")) row.setAttribute("tabindex", "-1");
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function moveRow(step) {
    var list = rows();
    if (!list.length) return;
    var cur = currentRow();
    var i = cur ? list.indexOf(cur) : -1;
    if (i === -1) {
      // start from the first row visible on screen
      var top = 0;
      for (var k = 0; k < list.length; k++) {
        if (list[k].getBoundingClientRect().bottom > 80) { top = k; break; }
      }
      focusRow(list[step > 0 ? top : Math.max(0, top - 1)]);
      return;
    }
    focusRow(list[Math.min(list.length - 1, Math.max(0, i + step))]);
  }

  function toggleRow(row) {
    var cb = row && row.querySelector("input[type=checkbox]:not([disabled])");
    if (!cb) return;
    var form = cb.form;
    cb.click(); // toggles and fires input + change, which htmx listens to
    if (!form) return;
    var trig = form.getAttribute("hx-trigger") || form.getAttribute("data-hx-trigger") || "";
    var htmxHandles = window.htmx && /\bchange\b/.test(trig);
    if (!htmxHandles) {
      if (form.requestSubmit) form.requestSubmit();
      else form.submit();
    }
  }

  function openIn(row, selector) {
    var el = row && row.querySelector(selector);
    if (!el) return;
    if (el.tagName === "DETAILS") {
      el.setAttribute("open", "");
      var input = el.querySelector("input:not([type=hidden]), textarea, select");
      if (input) input.focus();
      else el.querySelector("summary").focus();
    } else {
      el.click();
    }
  }

  // keep focus on a row that htmx replaced (same id)
  var lastRowId = null;
  doc.addEventListener("focusin", function (e) {
    var row = e.target.closest && e.target.closest("[data-item-row]");
    if (!row && e.target.closest) {
      // a field of an item's panel (the N/A reason, a comment) belongs to
      // its item: when the panel is sent and swapped, focus goes back there
      var panel = e.target.closest(".item-panel");
      var li = panel && panel.closest(".item");
      row = li && li.querySelector(":scope > [data-item-row]");
    }
    if (row && row.id) lastRowId = row.id;
    else if (!e.target.closest || !e.target.closest("dialog, [data-filter]")) lastRowId = null;
  });
  function keepRowFocus() {
    if (!lastRowId) return;
    var a = doc.activeElement;
    if (a && a !== doc.body && doc.contains(a)) return;
    var row = doc.getElementById(lastRowId);
    if (row) focusRow(row);
    refreshCountdowns(row || doc);
  }
  doc.addEventListener("htmx:afterSettle", keepRowFocus);
  // A live update may replace the focused row's block too: focus comes
  // back to the row only then, so that nobody reading elsewhere is moved.
  var swappedFocus = false;
  doc.addEventListener("htmx:oobBeforeSwap", function (e) {
    var t = e.detail && e.detail.target;
    var a = doc.activeElement;
    swappedFocus = swappedFocus || !!(t && a && a !== doc.body && t.contains(a));
  });
  doc.addEventListener("htmx:oobAfterSwap", function () {
    if (!swappedFocus) return;
    swappedFocus = false;
    keepRowFocus();
  });
  doc.addEventListener("htmx:load", function (e) {
    refreshCountdowns(e.target);
  });

  /* ------------------------------------------------------------ open items */
  function isOpenRow(r) {
    return !r.classList.contains("is-done") && !r.classList.contains("is-na") &&
      r.querySelector("input[type=checkbox]") !== null;
  }

  // nextOpen focuses the first open row after from (or the first at all).
  function nextOpen(from) {
    var list = rows();
    var start = from ? list.indexOf(from) + 1 : 0;
    for (var i = 0; i < list.length; i++) {
      var r = list[(start + i) % list.length];
      if (isOpenRow(r)) {
        focusRow(r);
        r.scrollIntoView({ block: "center" });
        return true;
      }
    }
    return false;
  }

  doc.addEventListener("click", function (e) {
    var t = e.target instanceof Element ? e.target : null;
    var next = t && t.closest("[data-next-open]");
    if (next) {
      if (nextOpen(currentRow() || (lastRowId && doc.getElementById(lastRowId)))) e.preventDefault();
      return;
    }
    var hide = t && t.closest("[data-hide-done]");
    var main = doc.querySelector(".deploy-main");
    if (hide && main) {
      e.preventDefault();
      var on = !main.classList.contains("hide-done");
      main.classList.toggle("hide-done", on);
      hide.textContent = on ? "Show done" : "Hide done";
      try {
        var u = new URL(location.href);
        if (on) u.searchParams.set("hide", "done");
        else u.searchParams.delete("hide");
        history.replaceState(null, "", u.toString());
        hide.setAttribute("href", on ? u.pathname : u.pathname + "?hide=done");
      } catch (err) { /* old browser: the class is enough */ }
    }
  });

  // The page opens at the first open item once work has started, unless
  // the address names a place (#item-…, #phase-…).
  (function openAtFirst() {
    var main = doc.querySelector("[data-first-open]");
    var id = main && main.getAttribute("data-first-open");
    if (!id || location.hash) return;
    var row = doc.getElementById(id);
    if (!row) return;
    if (!row.hasAttribute("tabindex")) row.setAttribute("tabindex", "-1");
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "center" });
  })();

  // A refused request answers with a flash message retargeted at #flash
  // (ui/errors.go); htmx does not swap 4xx/5xx answers by itself.
  doc.addEventListener("htmx:beforeSwap", function (e) {
    var xhr = e.detail && e.detail.xhr;
    if (xhr && xhr.status >= 400 && xhr.getResponseHeader("HX-Retarget") === "#flash") {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  // A live update swaps an item's whole block in, with an empty panel: an
  // open panel (a comment being written, the files just attached) stays
  // open across it: the panel element itself moves into the new block, so
  // a request it sent (which targets it) still lands in it. The item's own
  // answers (a main swap) still reset it.
  doc.addEventListener("htmx:oobBeforeSwap", function (e) {
    var frag = e.detail && e.detail.fragment;
    if (!frag || !frag.querySelectorAll) return;
    frag.querySelectorAll(".item-panel[id]").forEach(function (fresh) {
      var open = doc.getElementById(fresh.id);
      if (!open || !open.childElementCount || fresh.childElementCount) return;
      // A form in flight that answers with the whole block (N/A) is
      // answered by this update already: let the panel close.
      var busy = open.querySelector(".htmx-request[hx-target]");
      if (busy && busy.getAttribute("hx-target") !== "#" + open.id) return;
      fresh.replaceWith(open);
    });
  });

  /* --------------------------------------------------------------- filter */
  // Shows items whose row text contains the query, with their ancestors (for
  // context) and all their descendants; hides sections and phases left empty.
  function filterList(list, q, ancestorMatched) {
    var any = false;
    Array.prototype.forEach.call(list.children, function (it) {
      if (!it.classList || !it.classList.contains("item")) return;
      var row = it.querySelector(":scope > [data-item-row], :scope > .item-row");
      var own = !q || (row && row.textContent.toLowerCase().indexOf(q) !== -1);
      var sub = it.querySelector(":scope > .items");
      var childShown = sub ? filterList(sub, q, ancestorMatched || own) : false;
      var show = ancestorMatched || own || childShown;
      it.hidden = !show;
      if (show) any = true;
    });
    return any;
  }

  function filterItems(input) {
    var q = input.value.trim().toLowerCase();
    // data-filter="#checklist" limits the filter to one container
    var sel = input.getAttribute("data-filter");
    var scope = (sel && doc.querySelector(sel)) || doc;
    scope.querySelectorAll(".section > .items, .phase > .items").forEach(function (list) {
      filterList(list, q, false);
    });
    var shown = 0;
    scope.querySelectorAll(".item").forEach(function (it) {
      if (!it.hidden && !it.closest("[hidden]")) shown++;
    });
    scope.querySelectorAll(".section, .phase").forEach(function (box) {
      box.hidden = !!q && !box.querySelector(".item:not([hidden])");
    });
    var status = doc.querySelector("[data-filter-status]");
    if (status) status.textContent = q ? shown + " matching item" + (shown === 1 ? "" : "s") : "";
  }

  doc.addEventListener("input", function (e) {
    var t = e.target;
    if (t.matches && t.matches("input[data-filter]")) filterItems(t);
  });

  // Ticks and live updates swap whole item blocks in, unfiltered: apply
  // the filter to them again (once per batch of swaps).
  var refilterPending = false;
  function refilter() {
    var f = doc.querySelector("input[data-filter]");
    if (!f || !f.value.trim() || refilterPending) return;
    refilterPending = true;
    setTimeout(function () {
      refilterPending = false;
      filterItems(f);
    }, 0);
  }
  doc.addEventListener("htmx:afterSettle", refilter);
  doc.addEventListener("htmx:oobAfterSwap", refilter);

  /* ----------------------------------------------------------- shortcuts */
  function isTyping(el) {
    if (!el) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") {
      var type = (el.getAttribute("type") || "text").toLowerCase();
      return ["checkbox", "radio", "button", "submit", "reset", "range", "color", "file"].indexOf(type) === -1;
    }
    return false;
  }

  doc.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    var a = doc.activeElement;

    if (e.key === "Escape") {
      if (a && a.matches && a.matches("input[data-filter]")) {
        a.blur();
        var back = lastRowId && doc.getElementById(lastRowId);
        if (!back || back.closest("[hidden]")) back = rows()[0];
        if (back) focusRow(back);
        return;
      }
      // Esc in an item's panel closes it
      var panel = a && a.closest ? a.closest(".item-panel") : null;
      if (panel) {
        closePanel(panel);
        return;
      }
      // close the menu or popover that holds focus, and put focus back on
      // its summary so the keyboard user is not left inside hidden content
      var det = a && a.closest ? a.closest("details.menu[open], details.popover[open]") : null;
      if (det) {
        det.removeAttribute("open");
        var sum = det.querySelector("summary");
        if (sum) sum.focus();
        return;
      }
      closeOpenDetails(null);
      return;
    }

    if (isTyping(a)) return;
    if (doc.querySelector("dialog[open]")) return;

    var hasRows = doc.querySelector("[data-item-row]") !== null;
    var row = currentRow();

    switch (e.key) {
      case "j":
      case "k":
        if (!hasRows) return;
        e.preventDefault();
        moveRow(e.key === "j" ? 1 : -1);
        break;
      case "x":
      case " ":
        if (!row) return;
        // space on a focused button/link/checkbox keeps its own meaning
        if (e.key === " " && a !== row) return;
        e.preventDefault();
        toggleRow(row);
        break;
      case "n":
        if (!row) return;
        e.preventDefault();
        openIn(row, "[data-na-toggle]");
        break;
      case "c":
        if (!row) return;
        e.preventDefault();
        openIn(row, "[data-comments-toggle]");
        break;
      case "o":
        if (!hasRows) return;
        e.preventDefault();
        nextOpen(row);
        break;
      case "/":
        var f = doc.querySelector("input[data-filter]");
        if (!f) return;
        e.preventDefault();
        f.focus();
        f.select();
        break;
      case "?":
        if (openDialog("shortcuts")) e.preventDefault();
        break;
    }
  });

  /* ----------------------------------------------------------- countdowns */
  function fmtDuration(ms) {
    var m = Math.max(0, Math.round(ms / 60000));
    if (m < 1) return "<1m";
    var d = Math.floor(m / 1440);
    var h = Math.floor((m % 1440) / 60);
    var mm = m % 60;
    if (d > 0) return d + "d" + (h ? " " + h + "h" : "");
    if (h > 0) return h + "h" + (mm ? " " + mm + "m" : "");
    return mm + "m";
  }

  function refreshCountdowns(scope) {
    var now = Date.now();
    var base = scope && scope.querySelectorAll ? scope : doc;
    base.querySelectorAll("time[data-countdown]").forEach(function (t) {
      var when = Date.parse(t.getAttribute("datetime"));
      if (isNaN(when)) return;
      var left = when - now;
      var overdue = left < 0;
      var done = t.hasAttribute("data-countdown-done");
      t.textContent = done ? t.textContent : overdue ? "overdue by " + fmtDuration(-left) : "due in " + fmtDuration(left);
      t.classList.toggle("is-overdue", overdue && !done);
      if (!t.title) t.title = new Date(when).toLocaleString();
      // the row or section it belongs to gets the red edge on open items
      var holder = t.closest(".item-row, .section");
      if (holder && !done) holder.classList.toggle("is-overdue", overdue);
    });
    base.querySelectorAll("time[data-relative]").forEach(function (t) {
      var when = Date.parse(t.getAttribute("datetime"));
      if (isNaN(when)) return;
      var diff = now - when;
      t.textContent = diff < 0 ? "in " + fmtDuration(-diff) : diff < 60000 ? "just now" : fmtDuration(diff) + " ago";
      if (!t.title) t.title = new Date(when).toLocaleString();
    });
  }

  refreshCountdowns(doc);
  setInterval(function () { refreshCountdowns(doc); }, 30000);

  /* ------------------------------------------------------ phase scrollspy */
  // The phase being read is marked in the phase navigator
  // (.phase-link.is-current, aria-current="location"); live updates
  // re-render the navigator, so it is marked again after each swap.
  var spyQueued = false;
  function spy() {
    spyQueued = false;
    var phases = doc.querySelectorAll(".phase[id]");
    if (!phases.length) return;
    var current = phases[0];
    for (var i = 1; i < phases.length; i++) {
      if (phases[i].getBoundingClientRect().top > 140) break; // below the sticky bar
      current = phases[i];
    }
    doc.querySelectorAll(".phase-link").forEach(function (a) {
      var on = a.getAttribute("href") === "#" + current.id;
      a.classList.toggle("is-current", on);
      if (on) a.setAttribute("aria-current", "location");
      else a.removeAttribute("aria-current");
    });
  }
  function queueSpy() {
    if (spyQueued) return;
    spyQueued = true;
    (window.requestAnimationFrame || setTimeout)(spy);
  }
  window.addEventListener("scroll", queueSpy, { passive: true });
  doc.addEventListener("htmx:afterSettle", queueSpy);
  doc.addEventListener("htmx:oobAfterSwap", queueSpy);
  queueSpy();

  /* ---------------------------------------------------------------- live */
  function setLive(state) {
    doc.querySelectorAll("[data-live-indicator]").forEach(function (el) {
      el.classList.toggle("is-connected", state === "open");
      el.classList.toggle("is-disconnected", state === "closed");
      var label = el.querySelector(".live-label");
      if (label) label.textContent = state === "open" ? "Live" : state === "closed" ? "Reconnecting…" : "Connecting…";
      el.setAttribute("title", state === "open" ? "Changes by others appear as they happen" : "Live updates are not connected; reload to see the latest");
    });
  }
  // "change" and "viewers" events carry out-of-band swaps that htmx applies
  // by itself. "reload" means the page changed shape (a new status, the
  // final approval locked it): load it afresh. The SSE extension fires
  // htmx:sseMessage with the MessageEvent as detail, once per event named
  // in an sse-swap attribute (#live-sink lists "reload").
  doc.addEventListener("htmx:sseMessage", function (e) {
    if (e.detail && e.detail.type === "reload") location.reload();
  });
  // Keep the page's event streams, so that leaving the page ends them:
  // Chrome keeps a page with an open stream in its back/forward cache, and
  // the others would go on seeing us among the viewers for minutes. (The
  // SSE extension defines htmx.createEventSource before this file runs,
  // and opens streams only once htmx starts, after it.)
  var streams = [];
  if (window.htmx && typeof window.htmx.createEventSource === "function") {
    var createEventSource = window.htmx.createEventSource;
    window.htmx.createEventSource = function (url) {
      var es = createEventSource(url);
      streams.push(es);
      return es;
    };
  }
  window.addEventListener("pagehide", function () {
    streams.forEach(function (es) { es.close(); });
    streams = [];
  });
  // Back from that cache the page is stale and its stream closed: reload.
  window.addEventListener("pageshow", function (e) {
    if (e.persisted && doc.querySelector("[sse-connect]")) location.reload();
  });
  doc.addEventListener("htmx:sseOpen", function () { setLive("open"); });
  doc.addEventListener("htmx:sseError", function () { setLive("closed"); });
  doc.addEventListener("htmx:sseClose", function () { setLive("closed"); });
  window.addEventListener("offline", function () { setLive("closed"); });
})();
