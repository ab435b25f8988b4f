/* Messanger: mute, pin and archive from a conversation's header menu.
 *
 * Markup (templates/chat/conversation.html):
 *   <details data-conversation-settings-menu>
 *     <form data-conversation-setting="muted|pinned|archived" data-state="true|false">
 *       <input type="hidden" name="muted" value="0|1" data-setting-value> <button> </form> ...
 *     <p data-conversation-settings-status> errors </p>
 *   </details>
 * Each form posts to /c/<id>/settings without JavaScript. With a connected socket it sends
 * set_conversation_settings instead, shows the new state from the ack's C and tells the page
 * (conversationSettingsChanged); other tabs' changes arrive as "conversation_settings". Without a
 * socket the form is posted as usual.
 */
import { connected, conversationSettingsChanged, emitWithAck, on } from "./realtime/index.js";

const ACK_TIMEOUT_MS = 10000;

/** The conversation's id: from the chat's data, else from a form's /c/<id>/settings action. */
function conversationIdOf(forms) {
  const chat = document.getElementById("chat-data");
  try {
    const id = JSON.parse((chat && chat.textContent) || "{}").conversation.id;
    if (id != null) return id;
  } catch {
    /* no chat data: read the form */
  }
  const match = /\/c\/(\d+)\/settings$/.exec((forms[0] && forms[0].getAttribute("action")) || "");
  return match ? parseInt(match[1], 10) : null;
}

/** Send the settings forms of `menu` over the socket; returns the function that stops listening. */
export function initConversationSettings(menu) {
  const forms = menu.querySelectorAll("form[data-conversation-setting]");
  const status = menu.querySelector("[data-conversation-settings-status]");
  const conversationId = conversationIdOf(forms);
  if (conversationId == null) return () => {};

  // Show the state of C: each form offers the opposite of what is set.
  function show(conversation) {
    for (const form of forms) {
      const enabled = !!conversation[form.getAttribute("data-conversation-setting")];
      form.setAttribute("data-state", enabled ? "true" : "false");
      const value = form.querySelector("[data-setting-value]");
      if (value) value.value = enabled ? "0" : "1";
    }
  }

  function say(text) {
    if (status) status.textContent = text || "";
  }

  for (const form of forms) {
    form.addEventListener("submit", (event) => {
      if (!connected) return; // the plain form does it
      event.preventDefault();
      const value = form.querySelector("[data-setting-value]");
      const payload = { conversation_id: conversationId };
      payload[form.getAttribute("data-conversation-setting")] = !!(value && value.value === "1");
      const button = form.querySelector("button");
      if (button) button.disabled = true;
      say("");
      emitWithAck("set_conversation_settings", payload, ACK_TIMEOUT_MS)
        .then(
          (ack) => {
            if (!ack || !ack.ok) {
              say((ack && ack.message) || "That did not work. Try again.");
              return;
            }
            show(ack.conversation);
            conversationSettingsChanged(ack.conversation);
            menu.open = false;
            const summary = menu.querySelector("summary");
            if (summary) summary.focus();
          },
          () => say("Not saved: the connection is down. Try again."),
        )
        .then(() => {
          if (button) button.disabled = false;
        });
    });
  }

  return on("conversation_settings", (conversation) => {
    if (conversation && conversation.id === conversationId) show(conversation);
  });
}
