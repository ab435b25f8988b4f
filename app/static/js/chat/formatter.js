/* The formatter: decorates the server's viewer-neutral fragments (M.html, C.html and their
 * partials) for the one reading them, from data-* attributes only, per docs/protocol.md
 * ("Fragments (`html`) and what the browser decorates"). Used by the chat page and the home
 * page's conversation list:
 *
 *   format(root, viewer = viewerOf(document))   decorate root (an element or fragment) and all in it
 *   viewerOf(document) -> {me, moderates, chat}  the reader: [data-chat]'s data-me, else <body data-user-id>
 *   parseFragment(html) -> Element               the first element of our own server markup
 *
 * The decisions (mine, may delete, a mention of me, a reaction's state) are pure functions below,
 * tested in Node; format() only reads and writes attributes and text.
 */

/** True when the sender `senderId` (a string) is the reader. */
export function isMine(senderId, viewer) {
  return !!viewer.me && senderId === viewer.me;
}

/** True when the reader may delete a message of `senderId`: their own, or any as a moderator. */
export function mayDelete(senderId, viewer) {
  return isMine(senderId, viewer) || !!viewer.moderates;
}

/** data-mention's value for a mention of `mentionId`: "me" when it names the reader, else "other". */
export function mentionState(mentionId, viewer) {
  return viewer.me && mentionId === viewer.me ? "me" : "other";
}

/**
 * A reaction chip for the reader: {pressed, title, label}. `chip` holds its attributes' values:
 * {emoji, count, userIds: "1 2", userNames: '["Ana","Bob"]', youName: "You"}.
 */
export function reactionState(chip, me) {
  const ids = (chip.userIds || "").split(/\s+/).filter(Boolean);
  let names;
  try {
    names = JSON.parse(chip.userNames || "[]");
  } catch {
    names = [];
  }
  if (!Array.isArray(names)) names = [];
  const index = me ? ids.indexOf(me) : -1;
  if (index !== -1) names[index] = chip.youName || names[index];
  const who = names.join(", ");
  return {
    pressed: index !== -1,
    title: who,
    label: `${chip.emoji} ${chip.count || ids.length}: ${who}`,
  };
}

/** The reader of `doc`: {me (an id as a string, "" for none), moderates, chat (the root or null)}. */
export function viewerOf(doc = document) {
  const chat = doc.querySelector("[data-chat]");
  const me = chat ? chat.getAttribute("data-me") : doc.body && doc.body.getAttribute("data-user-id");
  const roles = chat ? (chat.getAttribute("data-delete-roles") || "").split(/\s+/).filter(Boolean) : [];
  return {
    chat,
    me: me ? String(me) : "",
    moderates: !!chat && roles.includes(chat.getAttribute("data-role") || ""),
  };
}

function within(root, selector) {
  const found = root.querySelectorAll ? [...root.querySelectorAll(selector)] : [];
  if (root.matches && root.matches(selector)) found.unshift(root);
  return found;
}

function toggle(node, name, on) {
  if (on) node.setAttribute(name, "true");
  else node.removeAttribute(name);
}

/** Decorate root (an element or fragment) and what it holds for `viewer`; returns root. */
export function format(root, viewer = viewerOf(document)) {
  if (!root) return root;
  if (viewer.chat) viewer.chat.setAttribute("data-formatted", "true");
  for (const item of within(root, "li[data-message]")) {
    const sender = item.getAttribute("data-sender-id");
    toggle(item, "data-mine", isMine(sender, viewer));
    toggle(item, "data-may-delete", mayDelete(sender, viewer));
  }
  for (const node of within(root, "[data-you]")) {
    const owner = node.closest("[data-sender-id]");
    if (!owner || !isMine(owner.getAttribute("data-sender-id"), viewer)) continue;
    const words = node.getAttribute("data-you");
    if (node.textContent !== words) node.textContent = words;
  }
  for (const link of within(root, "a[data-mention-id]")) {
    link.setAttribute("data-mention", mentionState(link.getAttribute("data-mention-id"), viewer));
  }
  for (const chip of within(root, "button[data-reaction]")) {
    const state = reactionState(
      {
        emoji: chip.getAttribute("data-emoji"),
        count: chip.getAttribute("data-count"),
        userIds: chip.getAttribute("data-user-ids"),
        userNames: chip.getAttribute("data-user-names"),
        youName: chip.getAttribute("data-you-name"),
      },
      viewer.me,
    );
    chip.setAttribute("aria-pressed", state.pressed ? "true" : "false");
    chip.setAttribute("title", state.title);
    chip.setAttribute("aria-label", state.label);
  }
  return root;
}

/** The first element of a fragment of our own server-escaped markup (M.html, C.html, ...). */
export function parseFragment(html) {
  const template = document.createElement("template");
  template.innerHTML = html || "";
  return template.content.firstElementChild;
}
