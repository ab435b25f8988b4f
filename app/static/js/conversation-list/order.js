/* Where the conversation list's rows go: the rules of docs/protocol.md's C, without the DOM.
 *
 * The list holds two sections in the server's order: "list" (pinned first, most recently pinned
 * first, then by newest activity) and "archive" (archived ones, newest activity first). A row is
 * described by an entry {id, pinned, archived, muted, lastSeq}; a section by its entries in order.
 * News moves one row: a message puts it first after the pinned ones (a pinned one keeps its place,
 * an archived one goes first in the archive); a message brings an archived conversation back,
 * unless it is muted; a new pin goes first. Which rows a full answer of GET /api/conversations
 * puts in which section is `split`.
 */

/** The badge text of a count: the number, "99+" past 99, "0" for none or nonsense. */
export function countText(count) {
  const n = count > 0 ? Math.floor(count) : 0;
  return n > 99 ? "99+" : String(n);
}

/** The section an entry belongs in. */
export function sectionOf(entry) {
  return entry.archived ? "archive" : "list";
}

/** The conversations of a full answer (C, the server's order) split into {list, archive}. */
export function split(conversations) {
  const sections = { list: [], archive: [] };
  for (const conversation of conversations) sections[sectionOf(conversation)].push(conversation);
  return sections;
}

/** What a message M does to an entry: {entry, fresh}. Not fresh (an older message filling a gap)
 * changes nothing; fresh ones are its last message now, and un-archive it unless it is muted. */
export function afterMessage(entry, message) {
  if (message.seq < entry.lastSeq) return { entry, fresh: false };
  return {
    entry: { ...entry, lastSeq: message.seq, archived: entry.archived && entry.muted },
    fresh: true,
  };
}

/** My settings C (muted, pinned, archived) applied to an entry. */
export function withSettings(entry, conversation) {
  return {
    ...entry,
    muted: !!conversation.muted,
    pinned: !!conversation.pinned,
    archived: !!conversation.archived,
  };
}

function others(sections, id) {
  return {
    list: sections.list.filter((entry) => entry.id !== id),
    archive: sections.archive.filter((entry) => entry.id !== id),
  };
}

function where(sections, id) {
  for (const name of ["list", "archive"]) {
    const index = sections[name].findIndex((entry) => entry.id === id);
    if (index !== -1) return { section: name, index };
  }
  return null;
}

/** Where `entry` goes after news of activity (a message), given the sections as they are (which
 * may still hold its old entry): {section, index} counted without it, or null when it stays. */
export function placeAfterActivity(entry, sections) {
  const now = where(sections, entry.id);
  let target;
  if (entry.archived) {
    target = { section: "archive", index: 0 };
  } else if (entry.pinned) {
    if (now && now.section === "list") return null; // a pinned one keeps its place among the pins
    target = { section: "list", index: 0 };
  } else {
    const pinned = others(sections, entry.id).list.filter((other) => other.pinned).length;
    target = { section: "list", index: pinned };
  }
  return now && now.section === target.section && now.index === target.index ? null : target;
}

/** Where `entry` goes after my settings changed from `before` to it: a new pin goes first in the
 * list, a row in or out of the archive is placed as after activity; otherwise it stays (null) until
 * the server's order comes back. */
export function placeAfterSettings(before, entry, sections) {
  if (entry.pinned && !before.pinned && !entry.archived) {
    const now = where(sections, entry.id);
    return now && now.section === "list" && now.index === 0 ? null : { section: "list", index: 0 };
  }
  if (entry.archived !== before.archived) return placeAfterActivity(entry, sections);
  return null;
}

/** The sections after `entry` moved to `placement` (null: only its entry replaced). */
export function arrange(sections, entry, placement) {
  if (!placement) {
    const swap = (list) => list.map((other) => (other.id === entry.id ? entry : other));
    return { list: swap(sections.list), archive: swap(sections.archive) };
  }
  const rest = others(sections, entry.id);
  rest[placement.section].splice(placement.index, 0, entry);
  return rest;
}

/** What is shown for these section sizes: the list, the archive, and the "no conversations" note. */
export function visibility(listed, archived) {
  return { list: listed > 0, archive: archived > 0, empty: listed + archived === 0 };
}
