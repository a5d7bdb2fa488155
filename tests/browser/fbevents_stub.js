/* Local stand-in for Meta's fbevents.js, used by test_pixel_browser.py.
 *
 * The snippet's loader defines window.fbq as a queueing function: while
 * fbq.callMethod is unset every call is pushed onto fbq.queue. The real
 * library, once loaded, installs fbq.callMethod and replays the queue. This
 * stub does the same, but only records each call (as a JSON-clean array) in
 * window.__fbqCalls so the test can compare what the page asked Meta to do.
 */
(function () {
  "use strict";
  var calls = (window.__fbqCalls = window.__fbqCalls || []);
  var record = function (args) {
    // Deep copy through JSON: the test sees exactly the data that would be sent.
    calls.push(JSON.parse(JSON.stringify(Array.prototype.slice.call(args))));
  };
  var fbq = window.fbq;
  if (typeof fbq !== "function" || !fbq.queue) {
    window.__fbqStubError = "fbevents stub: no fbq queue on the page";
    return;
  }
  var queued = fbq.queue;
  fbq.queue = [];
  fbq.callMethod = function () {
    record(arguments);
  };
  for (var i = 0; i < queued.length; i++) {
    record(queued[i]);
  }
  window.__fbqStubLoaded = (window.__fbqStubLoaded || 0) + 1;
})();
