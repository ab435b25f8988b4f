/* What a message (M, docs/protocol.md) says about me, and how a notification names it. Pure. */

/** True when M mentions the user `userId`. */
export function mentionsMe(message, userId) {
  return (message.mentions || []).some((person) => person && person.id === userId);
}

/** True when the user `userId` sent M. */
export function sentBy(message, userId) {
  return !!(message.sender && message.sender.id != null && message.sender.id === userId);
}

/** A notification's title and options for M: the @username beside the name, since a display
 * name alone could be anyone's; the body cut to 100 characters; one tag per message. */
export function notificationFor(message) {
  const sender = message.sender || {};
  const title = sender.display_name
    ? sender.display_name + (sender.username ? " (@" + sender.username + ")" : "")
    : "New message";
  return {
    title,
    options: {
      body: String(message.body || "").slice(0, 100),
      tag: "messanger-" + message.conversation_id + "-" + message.seq,
      icon: sender.avatar_url || undefined,
    },
  };
}
