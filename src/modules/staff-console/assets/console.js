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

  // A form with files, sent by htmx: the upload's progress in the form's <progress>. htmx 4 sends
  // with fetch(), which reports no upload progress (htmx 2's htmx:xhr:progress is gone), so for such
  // a form its request hook (ctx.fetch) is given an XMLHttpRequest that does; htmx swaps the answer
  // as usual. Without script the form is an ordinary multipart post.
  function xhrFetch(url, init, progress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(init.method || 'POST', url);
      var headers = init.headers || {};
      Object.keys(headers).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
      xhr.upload.addEventListener('progress', function (e) { if (e.lengthComputable) progress(e.loaded, e.total); });
      xhr.addEventListener('load', function () {
        var h = new Headers();
        xhr.getAllResponseHeaders().trim().split(/[\r\n]+/).forEach(function (line) {
          var i = line.indexOf(':');
          if (i > 0) { try { h.append(line.slice(0, i).trim(), line.slice(i + 1).trim()); } catch { /* a header Headers refuses */ } }
        });
        var empty = xhr.status === 204 || xhr.status === 304;
        resolve(new Response(empty ? null : xhr.responseText, { status: xhr.status, headers: h }));
      });
      xhr.addEventListener('error', function () { reject(new TypeError('network error')); });
      xhr.addEventListener('abort', function () { reject(new DOMException('aborted', 'AbortError')); });
      if (init.signal) init.signal.addEventListener('abort', function () { xhr.abort(); });
      xhr.send(init.body);
    });
  }

  doc.addEventListener('htmx:before:request', function (e) {
    var ctx = e.detail && e.detail.ctx;
    var form = ctx && ctx.sourceElement;
    if (!form || !form.matches || !form.matches('form[data-upload-progress]')) return;
    var input = form.querySelector('input[type=file]');
    if (!input || !input.files || input.files.length === 0) return;
    var box = form.querySelector('.progress');
    var bar = box && box.querySelector('progress');
    var text = box && box.querySelector('[role=status]');
    var button = form.querySelector('button[type=submit]');
    if (box) box.hidden = false;
    if (button) button.disabled = true;
    ctx.fetch = function (url, init) {
      return xhrFetch(url, init, function (loaded, total) {
        var pct = Math.round((loaded / total) * 100);
        if (bar) bar.value = pct;
        if (text) text.textContent = pct + '%';
      });
    };
  });

  errorSummary();
  printButton();
  doc.addEventListener('htmx:after:swap', function () { errorSummary(); printButton(); });
  window.setInterval(clocks, 30000);
  doc.addEventListener('htmx:after:swap', clocks);
})();
