// Web chat for migrants: sends each message to POST /api/chat and shows the answers.
// Every text (typed by the person or sent by the assistant) is inserted with textContent,
// never as HTML. The conversation id is random, made here, and kept in localStorage so a
// reload continues the same conversation; "Nouvelle conversation" forgets it.
// After "parler à un humain" with the staff queue on, the page polls GET /api/chat/updates every
// 10 s (only while the request is pending) and shows staff replies labelled as from a person.
"use strict";

(function () {
  var STORAGE_KEY = "oim-chat-sender";
  var MAX_CHARS = 2000;
  var TIMEOUT_MS = 30000;
  var SINCE_KEY = "oim-chat-staff-since";
  var POLL_MS = 10000;
  var POLL_RETRY_MS = 30000;
  var TEXTS = {
    network: "Connexion impossible. Vérifiez votre connexion Internet et réessayez.",
    unavailable: "Désolé, je ne peux pas répondre pour le moment. Réessayez dans quelques minutes.",
    empty: "Écrivez votre question avant d'envoyer.",
    tooLong: "Votre message est trop long (2000 caractères au maximum).",
    you: "Vous",
    bot: "Assistant OIM",
    staff: "Une personne de l'équipe",
    source: "Source :",
    feedbackQuestion: "Cette réponse vous a-t-elle aidé ?",
    useful: "Utile",
    notUseful: "Pas utile",
    thanks: "Merci pour votre avis.",
    feedbackFailed: "Votre avis n'a pas pu être enregistré."
  };

  var form = document.getElementById("chat-form");
  var input = document.getElementById("message");
  var sendButton = document.getElementById("send");
  var list = document.getElementById("messages");
  var typing = document.getElementById("typing");
  var counter = document.getElementById("counter");
  var formError = document.getElementById("form-error");
  var resetButton = document.getElementById("reset");
  var memorySender = null;
  var busy = false;
  var pollTimer = null;
  var memorySince = 0;

  function randomId() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function senderId() {
    try {
      var stored = window.localStorage.getItem(STORAGE_KEY);
      if (stored && /^[A-Za-z0-9_-]{8,64}$/.test(stored)) {
        return stored;
      }
      var fresh = randomId();
      window.localStorage.setItem(STORAGE_KEY, fresh);
      return fresh;
    } catch (e) {
      // localStorage blocked (private mode): keep the id for this page only.
      memorySender = memorySender || randomId();
      return memorySender;
    }
  }

  function forgetSender() {
    memorySender = null;
    memorySince = 0;
    try {
      window.localStorage.removeItem(STORAGE_KEY);
      window.localStorage.removeItem(SINCE_KEY);
    } catch (e) {
      /* nothing stored */
    }
  }

  // The conversation id if there is one, without making one (unlike senderId()).
  function currentSender() {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch (e) {
      return memorySender;
    }
  }

  function hasSender() {
    return !!currentSender();
  }

  // The time of the last staff reply shown, so a reload does not show it twice.
  function lastSeen() {
    try {
      return Number(window.localStorage.getItem(SINCE_KEY)) || memorySince;
    } catch (e) {
      return memorySince;
    }
  }

  function setLastSeen(value) {
    memorySince = value;
    try {
      window.localStorage.setItem(SINCE_KEY, String(value));
    } catch (e) {
      /* kept in memory */
    }
  }

  // Staff replies: polled only while a request for a human is pending (the server says so).
  function stopPolling() {
    if (pollTimer) {
      clearTimeout(pollTimer);
      pollTimer = null;
    }
  }

  function schedulePoll(delay) {
    stopPolling();
    pollTimer = setTimeout(pollUpdates, delay);
  }

  function pollUpdates() {
    pollTimer = null;
    if (document.hidden) {
      schedulePoll(POLL_MS);
      return;
    }
    var sender = senderId();
    var url = "/api/chat/updates?sender=" + encodeURIComponent(sender) + "&since=" + encodeURIComponent(lastSeen());
    fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (sender !== currentSender()) {
          return;  // "Nouvelle conversation" meanwhile: no new id made here
        }
        if (!data || !Array.isArray(data.messages)) {
          schedulePoll(POLL_RETRY_MS);
          return;
        }
        data.messages.forEach(function (message) {
          if (message && typeof message.text === "string") {
            addMessage("staff", message.text);
          }
        });
        if (typeof data.next_since === "number") {
          setLastSeen(data.next_since);
        }
        if (data.pending) {
          schedulePoll(POLL_MS);
        }
      }, function () {
        if (sender === currentSender()) {
          schedulePoll(POLL_RETRY_MS);
        }
      });
  }

  // One bubble. Lines starting with "Source :" get their own, visible style.
  function addMessage(role, text, kind) {
    var item = document.createElement("li");
    item.className = "message " + role + (kind ? " " + kind : "");
    var who = document.createElement("p");
    who.className = "who";
    who.textContent = role === "user" ? TEXTS.you : (role === "staff" ? TEXTS.staff : TEXTS.bot);
    item.appendChild(who);

    var body = [];
    String(text).split("\n").forEach(function (line) {
      if (line.trim().indexOf(TEXTS.source) === 0) {
        flush(item, body);
        var source = document.createElement("p");
        source.className = "source";
        source.textContent = line.trim();
        item.appendChild(source);
      } else {
        body.push(line);
      }
    });
    flush(item, body);
    list.appendChild(item);
    scrollToLatest();
    return item;
  }

  // "Utile / Pas utile" under an answer: real buttons (keyboard, screen readers), one answer
  // per answer; the choice is stored with the conversation (POST /api/chat/feedback).
  function addFeedback(item) {
    var group = document.createElement("div");
    group.className = "feedback";
    group.setAttribute("role", "group");
    var label = document.createElement("span");
    label.className = "feedback-question";
    label.id = "feedback-" + Math.random().toString(36).slice(2);
    label.textContent = TEXTS.feedbackQuestion;
    group.setAttribute("aria-labelledby", label.id);
    group.appendChild(label);
    var status = document.createElement("span");
    status.className = "feedback-status";
    status.setAttribute("role", "status");
    var buttons = [["utile", TEXTS.useful], ["pas_utile", TEXTS.notUseful]].map(function (choice) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "feedback-button";
      button.textContent = choice[1];
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", function () {
        buttons.forEach(function (other) { other.disabled = true; });
        sendFeedback(choice[0]).then(function (ok) {
          button.setAttribute("aria-pressed", ok ? "true" : "false");
          status.textContent = ok ? TEXTS.thanks : TEXTS.feedbackFailed;
          if (!ok) {
            buttons.forEach(function (other) { other.disabled = false; });
          }
        });
      });
      group.appendChild(button);
      return button;
    });
    group.appendChild(status);
    item.appendChild(group);
  }

  function sendFeedback(value) {
    return fetch("/api/chat/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: senderId(), value: value }),
      credentials: "same-origin"
    }).then(function (response) { return response.ok; }, function () { return false; });
  }

  // The composer is sticky at the bottom: scroll the page to its end, not the message into view
  // (which would leave the message under the composer).
  function scrollToLatest() {
    window.scrollTo({ top: document.documentElement.scrollHeight, behavior: "smooth" });
  }

  function flush(item, lines) {
    var text = lines.join("\n").replace(/^\n+|\n+$/g, "");
    lines.length = 0;
    if (!text) {
      return;
    }
    var paragraph = document.createElement("p");
    paragraph.className = "text";
    paragraph.textContent = text;
    item.appendChild(paragraph);
  }

  function showFormError(text) {
    formError.textContent = text;
    formError.hidden = !text;
  }

  function setBusy(value) {
    busy = value;
    sendButton.disabled = value;
    typing.hidden = !value;
  }

  function updateCounter() {
    counter.textContent = input.value.length + " / " + MAX_CHARS;
  }

  function send(text) {
    var clean = text.trim();
    if (!clean) {
      showFormError(TEXTS.empty);
      return;
    }
    if (clean.length > MAX_CHARS) {
      showFormError(TEXTS.tooLong);
      return;
    }
    if (busy) {
      return;
    }
    showFormError("");
    addMessage("user", clean);
    input.value = "";
    updateCounter();
    setBusy(true);

    var controller = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () {
      if (controller) {
        controller.abort();
      }
    }, TIMEOUT_MS);

    fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: senderId(), message: clean }),
      signal: controller ? controller.signal : undefined,
      credentials: "same-origin"
    })
      .then(function (response) {
        return response.json().then(
          function (data) { return { ok: response.ok, data: data }; },
          function () { return { ok: false, data: {} }; }
        );
      })
      .then(function (result) {
        if (result.ok && result.data && Array.isArray(result.data.messages)) {
          // Rasa splits one answer into several messages at blank lines: show one bubble per reply.
          var parts = result.data.messages.filter(function (message) {
            return message && typeof message.text === "string";
          }).map(function (message) { return message.text; });
          var answer = addMessage("bot", parts.length ? parts.join("\n\n") : TEXTS.unavailable, parts.length ? "" : "notice");
          if (parts.length) {
            addFeedback(answer);
          }
          if (result.data.handoff) {
            schedulePoll(POLL_MS);
          }
        } else {
          var text = (result.data && typeof result.data.message === "string")
            ? result.data.message : TEXTS.unavailable;
          addMessage("bot", text, "notice");
        }
      })
      .catch(function () {
        addMessage("bot", TEXTS.network, "notice");
      })
      .then(function () {
        clearTimeout(timer);
        setBusy(false);
        input.focus();
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(input.value);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(input.value);
    }
  });

  input.addEventListener("input", function () {
    updateCounter();
    if (input.value.trim()) {
      showFormError("");
    }
  });

  Array.prototype.forEach.call(document.querySelectorAll(".suggestion"), function (button) {
    button.addEventListener("click", function () {
      send(button.getAttribute("data-question") || "");
    });
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && pollTimer) {
      schedulePoll(0);
    }
  });

  resetButton.addEventListener("click", function () {
    stopPolling();
    forgetSender();
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    showFormError("");
    input.focus();
  });

  updateCounter();
  if (hasSender()) {
    pollUpdates();  // a reload: replies that came meanwhile, and polling again if still pending
  }
})();
