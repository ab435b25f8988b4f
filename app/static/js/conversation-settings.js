/* Messanger: mute, pin and archive from a conversation's header menu.
 *
 * Markup (templates/chat/conversation.html):
 *   <details data-conversation-settings-menu>
 *     <form data-conversation-setting="muted|pinned|archived" data-state="true|false">
 *       <input type="hidden" name="muted" value="0|1" data-setting-value> <button> </form> ...
 *     <p data-conversation-settings-status> errors </p>
 *   </details>
 * Each form posts to /c/<id>/settings without JavaScript. With a connected socket (realtime.js) it
 * sends set_conversation_settings instead, shows the new state from the ack's C and tells the
 * page (Messanger.conversationSettingsChanged); other tabs' changes arrive as
 * "conversation_settings". Without a socket the form is posted as usual.
 */
(function () {
  "use strict";

  var ACK_TIMEOUT_MS = 10000;

  function init() {
    var M = window.Messanger;
    var menu = document.querySelector("[data-conversation-settings-menu]");
    var chat = document.getElementById("chat-data");
    if (!M || !M.on || !menu) return;
    var forms = menu.querySelectorAll("form[data-conversation-setting]");
    var status = menu.querySelector("[data-conversation-settings-status]");
    var conversationId = null;
    try {
      conversationId = JSON.parse((chat && chat.textContent) || "{}").conversation.id;
    } catch (error) {
      conversationId = null;
    }
    if (conversationId == null) {
      var match = /\/c\/(\d+)\/settings$/.exec((forms[0] && forms[0].getAttribute("action")) || "");
      conversationId = match ? parseInt(match[1], 10) : null;
    }
    if (conversationId == null) return;

    // Show the state of C: each form offers the opposite of what is set.
    function show(conversation) {
      Array.prototype.forEach.call(forms, function (form) {
        var name = form.getAttribute("data-conversation-setting");
        var on = !!conversation[name];
        form.setAttribute("data-state", on ? "true" : "false");
        var value = form.querySelector("[data-setting-value]");
        if (value) value.value = on ? "0" : "1";
      });
    }

    function say(text) {
      if (status) status.textContent = text || "";
    }

    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        if (!M.connected) return; // the plain form does it
        event.preventDefault();
        var name = form.getAttribute("data-conversation-setting");
        var value = form.querySelector("[data-setting-value]");
        var payload = { conversation_id: conversationId };
        payload[name] = !!(value && value.value === "1");
        var button = form.querySelector("button");
        if (button) button.disabled = true;
        say("");
        M.emitWithAck("set_conversation_settings", payload, ACK_TIMEOUT_MS)
          .then(
            function (ack) {
              if (!ack || !ack.ok) {
                say((ack && ack.message) || "That did not work. Try again.");
                return;
              }
              show(ack.conversation);
              if (M.conversationSettingsChanged) M.conversationSettingsChanged(ack.conversation);
              menu.open = false;
              var summary = menu.querySelector("summary");
              if (summary) summary.focus();
            },
            function () {
              say("Not saved: the connection is down. Try again.");
            }
          )
          .then(function () {
            if (button) button.disabled = false;
          });
      });
    });

    M.on("conversation_settings", function (conversation) {
      if (conversation && conversation.id === conversationId) show(conversation);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
