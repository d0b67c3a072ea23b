// Staff console, progressive enhancement only: the pages work without this file.
// "Copier la réponse": shows the copy buttons and copies the text of the element they name.
(function () {
  "use strict";
  function copy(button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    var status = button.parentNode.querySelector(".copy-status");
    if (!target) { return; }
    var text = target.value !== undefined ? target.value : target.textContent;
    function done(ok) {
      if (status) { status.textContent = ok ? "Réponse copiée." : "Copie impossible : sélectionnez le texte et copiez-le."; }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
      return;
    }
    target.focus();
    target.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    done(ok);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button[data-copy-target]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function (event) { copy(event.currentTarget); });
    }
  });
})();
