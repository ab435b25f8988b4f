/* Messages in, each once: live ones and those fetched by "sync" after every (re)connect, with the
 * last seq per conversation tracked (./sequences.js); and everyone's presence as it is now.
 * Every message goes out as the bus's "message" event (M, {synced}); one from someone else counts
 * as unread unless the page is reading that conversation, and notifies unless it came by sync. */
import { dispatch } from "./bus.js";
import { reconnectDelay } from "./backoff.js";
import { connected, emitWithAck } from "./connection.js";
import { mentionsMe, sentBy } from "./message-facts.js";
import { notifyUnlessMuted } from "./notifications.js";
import { pageSequences, parseConversationState, syncRounds } from "./sequences.js";
import { countMessage } from "./unread.js";
import { userId } from "./user.js";

const SYNC_TIMEOUT_MS = 15000;
const PRESENCE_TIMEOUT_MS = 10000;

let readingFn = null;

/** fn(conversationId) -> true while the user reads that conversation at the bottom (its
 * messages do not count as unread); null to stop. */
export function setReading(fn) {
  readingFn = typeof fn === "function" ? fn : null;
}

function isReading(conversationId) {
  try {
    return !!(readingFn && readingFn(conversationId));
  } catch {
    return false;
  }
}

/** Remember the last seq this page has of a conversation (for resyncs); it never goes back. */
export function track(conversationId, seq) {
  pageSequences.track(conversationId, seq);
}

/** The last seq this page has of a conversation (0 when none). */
export function lastSeq(conversationId) {
  return pageSequences.lastSeq(conversationId);
}

/** Track the page's <script type="application/json" id="conversation-state">{"<id>": last_seq}. */
export function readPageState() {
  const element = document.getElementById("conversation-state");
  if (element) pageSequences.seed(parseConversationState(element.textContent));
}

/** Take message M from the server (meta: {synced}); a repeat or a malformed one is dropped. */
export function receive(message, meta) {
  const fromOther = message && !sentBy(message, userId);
  // A message the connect-time sync fetched still notifies when its live event follows.
  if (fromOther && !meta.synced) notifyUnlessMuted(message);
  if (!pageSequences.firstSight(message)) return;
  if (fromOther && !isReading(message.conversation_id)) countMessage(message, mentionsMe(message, userId));
  dispatch("message", message, meta);
}

function syncAfter(after) {
  return syncRounds(
    after,
    (cursor) => emitWithAck("sync", { after: cursor }, SYNC_TIMEOUT_MS),
    (message) => receive(message, { synced: true }),
  );
}

/** Fetch the messages after afterSeq (default: the tracked last seq), dispatched as "message"
 * events too; Promise of the array of messages. */
export function sync(conversationId, afterSeq) {
  const seq = afterSeq != null ? parseInt(afterSeq, 10) || 0 : lastSeq(conversationId);
  return syncAfter({ [String(conversationId)]: seq });
}

let syncGeneration = 0;

/** Everything missed in every tracked conversation, then the bus's "synced". A sync that failed
 * while the socket stayed up (a busy server gave no answer in time) is asked again after a
 * growing, random wait (./backoff.js); one that a disconnect cut short is the next connect's. */
export function syncAll() {
  const generation = ++syncGeneration;
  let failures = 0;
  const attempt = () =>
    syncAfter(pageSequences.after()).then(
      () => {
        if (generation === syncGeneration) dispatch("synced");
      },
      () => {
        if (generation !== syncGeneration || !connected) return;
        window.setTimeout(attempt, reconnectDelay(failures));
        failures += 1;
      },
    );
  return attempt();
}

/** Everyone whose presence I see, as they are now: news from before this socket connected never
 * reached it (each person is dispatched as a "presence" event). */
export function catchUpPresence() {
  emitWithAck("presence_snapshot", {}, PRESENCE_TIMEOUT_MS).then(
    (ack) => {
      for (const event of (ack && ack.ok && ack.people) || []) {
        if (event) dispatch("presence", event);
      }
    },
    () => {},
  );
}
