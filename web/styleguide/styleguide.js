/* Styleguide only: put the demo countdowns relative to now, so that
   app.js renders "overdue by 5m", "due in 1h 20m" etc. whenever the page
   is opened. Loaded (defer) before app.js. */
(function () {
  "use strict";
  var now = Date.now();
  document.querySelectorAll("[data-sg-offset]").forEach(function (t) {
    var minutes = parseFloat(t.getAttribute("data-sg-offset"));
    t.setAttribute("datetime", new Date(now + minutes * 60000).toISOString());
  });
})();
