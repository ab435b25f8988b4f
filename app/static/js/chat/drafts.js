/* Drafts per chat: what the composer held (and the message it was replying to), kept in
 * localStorage under the user and the conversation, so a chat switch or a reload finds it again.
 * Storage that fails (private mode, a full quota, none at all) only means no draft is kept. */

const PREFIX = "messanger:draft:";
const MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/** The drafts of user `userId` in `storage` (a Storage, or anything with getItem/setItem/removeItem). */
export function createDraftStore(storage, userId, now = () => Date.now()) {
  const key = (cid) => `${PREFIX}${userId}:${cid}`;

  function remove(cid) {
    try {
      storage.removeItem(key(cid));
    } catch {
      // nothing kept is nothing lost
    }
  }

  /** The draft {text, replyId} of conversation `cid`, or null. */
  function load(cid) {
    let raw;
    try {
      raw = storage.getItem(key(cid));
    } catch {
      return null;
    }
    if (!raw) return null;
    try {
      const draft = JSON.parse(raw);
      if (!draft || typeof draft.text !== "string" || !(now() - Number(draft.at) < MAX_AGE_MS)) throw new Error("stale");
      return { text: draft.text, replyId: Number.isInteger(draft.replyId) ? draft.replyId : null };
    } catch {
      remove(cid);
      return null;
    }
  }

  /** Keep `text` (and the id of the message replied to, or null) as the draft; an empty one is removed.
   * False when the storage refused it. */
  function save(cid, { text, replyId = null }) {
    if (!text && replyId == null) {
      remove(cid);
      return true;
    }
    try {
      storage.setItem(key(cid), JSON.stringify({ text: text || "", replyId, at: now() }));
      return true;
    } catch {
      return false;
    }
  }

  /** Remove the draft if it still holds `text` (a message just stored); a newer draft stays. */
  function clearIf(cid, text) {
    const draft = load(cid);
    if (draft && draft.text === text) remove(cid);
  }

  return { load, save, clearIf, clear: remove };
}

/** The page's localStorage, or null where reading it throws (some privacy modes). */
export function browserStorage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** `fn` run at most once per `ms` (the last call's arguments win); `.flush()` runs a pending call now. */
export function throttle(fn, ms, timers = { set: (callback, wait) => setTimeout(callback, wait), clear: (id) => clearTimeout(id) }) {
  let timer = null;
  let pendingArgs = null;
  function run() {
    timer = null;
    if (!pendingArgs) return;
    const args = pendingArgs;
    pendingArgs = null;
    fn(...args);
  }
  function throttled(...args) {
    pendingArgs = args;
    if (timer === null) timer = timers.set(run, ms);
  }
  throttled.flush = () => {
    if (timer !== null) timers.clear(timer);
    run();
  };
  throttled.cancel = () => {
    if (timer !== null) timers.clear(timer);
    timer = null;
    pendingArgs = null;
  };
  return throttled;
}
