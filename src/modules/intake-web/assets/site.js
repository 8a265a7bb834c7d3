// The citizen pages' only script (served as /assets/site.<hash>.js; no inline script anywhere).
// Everything here is an enhancement: with script off the pages work the same, the identity
// fields stay visible (and the server ignores them for an anonymous report).
(function () {
  'use strict';
  var doc = document;
  doc.documentElement.classList.add('js');

  // Named or anonymous: the contact fields show only for a named report, and are disabled
  // (so not sent at all) for an anonymous one.
  function identityToggle() {
    var group = doc.getElementById('named-fields');
    var radios = doc.querySelectorAll('input[name="identity"]');
    if (!group || !radios.length) return;
    function update() {
      var chosen = doc.querySelector('input[name="identity"]:checked');
      var named = !!chosen && chosen.value === 'named';
      group.hidden = !named;
      group.disabled = !named;
    }
    for (var i = 0; i < radios.length; i++) radios[i].addEventListener('change', update);
    update();
  }

  // After a failed submit: focus the error summary (autofocus does it too where supported), and
  // make its links focus the field itself, its label scrolled into view.
  function errorSummary() {
    var summary = doc.getElementById('error-summary');
    if (!summary) return;
    if (doc.activeElement !== summary) summary.focus();
    summary.addEventListener('click', function (event) {
      var link = event.target.closest('a[href^="#"]');
      if (!link) return;
      var field = doc.getElementById(link.getAttribute('href').slice(1));
      if (!field) return;
      event.preventDefault();
      var label = doc.querySelector('label[for="' + field.id + '"]') || field;
      label.scrollIntoView();
      field.focus({ preventScroll: true });
    });
  }

  // Forms with files: upload with a progress bar, then show the answer page as the browser would.
  function uploadProgress() {
    var forms = doc.querySelectorAll('form[data-upload]');
    if (!forms.length || !window.FormData || !window.XMLHttpRequest) return;
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener('submit', function (event) {
        var input = form.querySelector('input[type=file]');
        if (!input || !input.files || input.files.length === 0) return;
        event.preventDefault();
        var box = form.querySelector('.progress');
        var bar = box && box.querySelector('progress');
        var button = form.querySelector('button[type=submit]');
        if (box) box.hidden = false;
        if (button) button.disabled = true;
        var xhr = new XMLHttpRequest();
        xhr.open('POST', form.action);
        xhr.upload.addEventListener('progress', function (e) {
          if (bar && e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
        });
        xhr.addEventListener('load', function () {
          doc.open();
          doc.write(xhr.responseText);
          doc.close();
        });
        xhr.addEventListener('error', function () {
          // Let the browser try the ordinary way (it shows its own error if the network is down).
          if (box) box.hidden = true;
          if (button) button.disabled = false;
          HTMLFormElement.prototype.submit.call(form);
        });
        xhr.send(new FormData(form));
      });
    });
  }

  identityToggle();
  errorSummary();
  uploadProgress();
})();
