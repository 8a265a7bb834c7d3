// The staff console's script (served as /staff/assets/console.<hash>.js; no inline script). Every
// page works without it: it only focuses the error summary, keeps the deadline clocks running and
// offers a print button on the receipt. htmx (served beside it) refreshes the queue on filter change.
(function () {
  'use strict';
  var doc = document;
  doc.documentElement.classList.add('js');

  function errorSummary() {
    var summary = doc.getElementById('error-summary');
    if (summary) summary.focus();
  }

  function duration(ms, en) {
    var minutes = Math.max(0, Math.round(ms / 60000));
    var d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
    if (en) return d ? d + ' d ' + h + ' h' : h ? h + ' h ' + m + ' min' : m + ' min';
    return d ? d + '天' + h + '小时' : h ? h + '小时' + m + '分' : m + '分钟';
  }

  // The clocks tick every 30 s: amber at a quarter of the time left, red once overdue.
  function clocks() {
    var en = doc.documentElement.lang === 'en';
    var list = doc.querySelectorAll('.clock[data-due]');
    Array.prototype.forEach.call(list, function (el) {
      var due = Date.parse(el.getAttribute('data-due'));
      var start = Date.parse(el.getAttribute('data-start'));
      var left = due - Date.now();
      var state = left < 0 ? 'red' : left <= (due - start) / 4 ? 'amber' : 'ok';
      el.classList.remove('ok', 'amber', 'red');
      el.classList.add(state);
      var text = el.querySelector('.clock-text');
      if (text) text.textContent = left < 0 ? (en ? 'overdue by ' : '已超期 ') + duration(-left, en) : en ? duration(left, en) + ' left' : '剩余' + duration(left, en);
    });
  }

  function printButton() {
    var button = doc.getElementById('print-button');
    if (!button) return;
    button.hidden = false;
    button.addEventListener('click', function () { window.print(); });
  }

  errorSummary();
  printButton();
  window.setInterval(clocks, 30000);
  doc.addEventListener('htmx:after:swap', clocks);
})();
