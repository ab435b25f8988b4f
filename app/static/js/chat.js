/* Messanger: the chat page (templates/chat/conversation.html).
 *
 * Data: <script type="application/json" id="chat-data">{conversation, members, me, messages_url,
 * edit_window_seconds}</script>
 * Markup hooks: [data-chat] (data-has-more; the script sets data-live), [data-scroller],
 * [data-message-log], [data-message-list] (li[data-message] with data-id, data-seq, data-client-id,
 * data-sender-id, data-created-at, data-edited-at, data-edited, data-deleted, data-mine,
 * data-state "sent" | "pending" | "failed"; inside: [data-reply-quote], [data-attachment], [data-body],
 * [data-edited-label], [data-actions] with button[data-action=reply|react|edit|delete],
 * [data-reactions]), [data-load-older], [data-new-messages], [data-typing], [data-chat-status],
 * [data-connection-status], [data-chat-presence], [data-member-list], form[data-composer] with
 * textarea[data-composer-input] and [data-reply-bar], and the <template>s #message-template-own,
 * #message-template-other, #day-separator-template, #seen-receipt-template, #reaction-chip-template,
 * #reaction-picker-template, #message-editor-template, #delete-confirm-template. The message
 * templates are templates/chat/_macros.html's message_item, so server-drawn history and live
 * messages share one DOM.
 *
 * Sending goes over the socket (window.Messanger, realtime.js): a pending bubble appears at once,
 * then turns into the stored message when the server acknowledges it, or offers "Retry" (with the
 * same client_id, so the server never stores it twice). Messages that arrive are placed by seq,
 * without duplicates; a gap in the seqs is filled with a sync first. Reading at the bottom of a
 * visible page marks the conversation read. Older messages load at the top, keeping the view
 * where it was. Typing and presence are shown as they come.
 *
 * Each message has actions: Reply (a bar over the composer; the reply quotes the original, and
 * clicking a quote loads history back to it and highlights it, as ?around=<seq> does on load),
 * React (chips under the bubble and a picker), Edit (inline, own messages within the edit window)
 * and Delete (own messages, or any as a group's owner / a room's moderator; asks first); the picker,
 * the editor and the delete confirmation live in message-actions.js (loaded before this). Changes
 * arrive as "message_updated" and replace the message held; after a reconnect every message held
 * is fetched again so that changes made meanwhile show.
 *
 * User text only ever goes in with textContent; links are built as <a> elements.
 * Without JavaScript (or without the Socket.IO client) the composer posts the form instead.
 */
(function () {
  "use strict";

  var NEAR_BOTTOM_PX = 48;
  var NEAR_TOP_PX = 160;
  var SEND_TIMEOUT_MS = 10000;
  var ACK_TIMEOUT_MS = 10000;
  var TYPING_EVERY_MS = 3000;
  var TYPING_SHOWN_MS = 5000;
  var MARK_READ_DELAY_MS = 300;
  var PAGE_SIZE = 50;
  var REFETCH_PAGE_SIZE = 100; // the API's largest page
  var DELETED_AVATAR = "/static/img/deleted-user.svg";

  var URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;
  var TRAILING_PUNCTUATION = /[.,;:!?)\]']+$/;
  // app/services/mentions.py's MENTION_PATTERN: not inside a word or an e-mail address.
  var MENTION_PATTERN = /@([A-Za-z0-9._]{1,30})/g;
  var MENTION_BLOCKED_AFTER = /[\p{L}\p{N}_@.]/u;
  var REPLY_PREVIEW_LENGTH = 140;
  // app/names.py's INVISIBLE: characters that draw nothing or reorder the text around them.
  var FORMAT_CHARACTER = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Cc}\p{Zl}\p{Zp}]/gu;
  var HIGHLIGHT_MS = 2000;

  function noop() {}

  /* The @username tokens of text that name someone in `named` ({lowercased username: {id, username}})
   * as profile links (data-mention "me" for myId, else "other"), appended to fragment. The same
   * markup as app/templating.py's message_text. */
  function appendMentions(fragment, text, named, myId) {
    var last = 0;
    var match;
    MENTION_PATTERN.lastIndex = 0;
    while ((match = MENTION_PATTERN.exec(text)) !== null) {
      var before = match.index > 0 ? text.charAt(match.index - 1) : "";
      var name = match[1].replace(/\.+$/, "");
      var person = name && !(before && MENTION_BLOCKED_AFTER.test(before)) ? named[name.toLowerCase()] : null;
      if (!person) continue;
      if (match.index > last) fragment.appendChild(document.createTextNode(text.slice(last, match.index)));
      var link = document.createElement("a");
      link.setAttribute("href", window.location.origin + "/u/" + encodeURIComponent(person.username));
      link.setAttribute("data-mention", person.id === myId ? "me" : "other");
      link.textContent = "@" + name;
      fragment.appendChild(link);
      last = match.index + 1 + name.length;
    }
    if (last < text.length) fragment.appendChild(document.createTextNode(text.slice(last)));
  }

  /* A link's address as shown and followed: invisible characters percent-encoded, as
   * app/names.py's visible_url (so "…/%E2%80%AEgnp.exe" never reads "…/exe.png"). */
  function visibleUrl(url) {
    return url.replace(FORMAT_CHARACTER, function (char) {
      return encodeURIComponent(char);
    });
  }

  /* Text with its http(s) links as <a> elements, and mentions (M.mentions) as profile links;
   * everything else stays text. */
  function linkify(text, mentions, myId) {
    var fragment = document.createDocumentFragment();
    var source = String(text == null ? "" : text);
    var named = {};
    (mentions || []).forEach(function (person) {
      if (person && person.username) named[String(person.username).toLowerCase()] = person;
    });
    var appendText = function (chunk) {
      if (chunk) appendMentions(fragment, chunk, named, myId);
    };
    var last = 0;
    var match;
    URL_PATTERN.lastIndex = 0;
    while ((match = URL_PATTERN.exec(source)) !== null) {
      var url = match[0].replace(TRAILING_PUNCTUATION, "");
      var start = match.index;
      if (start > last) appendText(source.slice(last, start));
      var link = null;
      try {
        var parsed = new URL(url);
        if (parsed.protocol === "http:" || parsed.protocol === "https:") {
          var shown = visibleUrl(url);
          link = document.createElement("a");
          link.setAttribute("href", shown);
          link.setAttribute("dir", "ltr");
          link.setAttribute("target", "_blank");
          link.setAttribute("rel", "noopener nofollow");
          link.className = "underline break-all";
          link.textContent = shown;
        }
      } catch (error) {
        link = null;
      }
      fragment.appendChild(link || document.createTextNode(url));
      last = start + url.length;
      URL_PATTERN.lastIndex = last;
    }
    if (last < source.length) appendText(source.slice(last));
    return fragment;
  }

  /* What a reply's quote says of R: as templates/chat/_macros.html's quote_text. */
  function quoteText(reply) {
    if (reply.deleted) return "Message deleted";
    if (reply.preview) return reply.preview;
    if (reply.attachment_kind === "image") return "Photo";
    return reply.attachment_kind ? "File" : "";
  }

  /* R for a message M (a quote of it, kept current when it changes). */
  function replyOf(message) {
    var body = message.deleted ? "" : String(message.body || "");
    return {
      id: message.id,
      seq: message.seq,
      sender: message.sender,
      preview: body.length <= REPLY_PREVIEW_LENGTH ? body : body.slice(0, REPLY_PREVIEW_LENGTH - 1) + "…",
      deleted: !!message.deleted,
      attachment_kind: message.deleted || !message.attachment ? null : message.attachment.kind
    };
  }

  function uuid() {
    var cryptoObject = window.crypto || window.msCrypto;
    if (cryptoObject && typeof cryptoObject.randomUUID === "function") return cryptoObject.randomUUID();
    var bytes = new Uint8Array(16);
    if (cryptoObject && cryptoObject.getRandomValues) {
      cryptoObject.getRandomValues(bytes);
    } else {
      for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (byte) {
      return (byte + 0x100).toString(16).slice(1);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function init() {
    var root = document.querySelector("[data-chat]");
    var dataElement = document.getElementById("chat-data");
    var M = window.Messanger;
    if (!root || !dataElement || !M || !M.on) return;

    var data;
    try {
      data = JSON.parse(dataElement.textContent || "{}");
    } catch (error) {
      return;
    }

    var conversation = data.conversation || {};
    var cid = conversation.id;
    var me = data.me || {};
    var groupLike = conversation.kind !== "direct";
    var live = !!M.available;
    var members = {};
    (data.members || []).forEach(function (person) {
      if (person && person.id != null) members[person.id] = person;
    });

    var scroller = root.querySelector("[data-scroller]");
    var log = root.querySelector("[data-message-log]");
    var list = root.querySelector("[data-message-list]");
    var olderButton = root.querySelector("[data-load-older]");
    var pill = root.querySelector("[data-new-messages]");
    var typingLine = root.querySelector("[data-typing]");
    var statusLine = root.querySelector("[data-chat-status]");
    var connectionLine = root.querySelector("[data-connection-status]");
    var presenceLine = root.querySelector("[data-chat-presence]");
    var memberList = root.querySelector("[data-member-list]");
    var membersPanel = root.querySelector("[data-members-panel]");
    var emptyState = root.querySelector("[data-empty-state]");
    var form = root.querySelector("[data-composer]");
    var input = form ? form.querySelector("[data-composer-input]") : null;
    var composerError = form ? form.querySelector("[data-composer-error]") : null;
    var ownTemplate = document.getElementById("message-template-own");
    var otherTemplate = document.getElementById("message-template-other");
    var separatorTemplate = document.getElementById("day-separator-template");
    var seenTemplate = document.getElementById("seen-receipt-template");
    var chipTemplate = document.getElementById("reaction-chip-template");
    var replyBar = form ? form.querySelector("[data-reply-bar]") : null;
    if (!scroller || !list || !ownTemplate || !otherTemplate || !separatorTemplate) return;

    var hasMore = root.getAttribute("data-has-more") === "true";
    var loadingOlder = false;
    var olderFailed = false;
    var holeSync = null;
    var pendingBodies = {};
    var pendingReplies = {}; // client_id -> the R its reply quotes, while it is being sent
    var pendingAttachments = {}; // client_id -> the A it carries (uploaded by attachments.js)
    var editWindowMs = (parseInt(data.edit_window_seconds, 10) || 0) * 1000;
    var replyTarget = null; // R of the message the composer answers
    var lastRead = parseInt(conversation.last_read_seq, 10) || 0;
    var markingSeq = 0;
    var markTimer = null;
    var lastTypingSent = 0;
    var typers = {};
    var pinned = true;

    /* ------------------------------------------------------------ helpers */

    function items() {
      return list.querySelectorAll("li[data-message]");
    }

    function seqOf(item) {
      var value = item.getAttribute("data-seq");
      return value ? parseInt(value, 10) : null;
    }

    function bySeq(seq) {
      return list.querySelector('li[data-message][data-seq="' + Number(seq) + '"]');
    }

    function byId(id) {
      return list.querySelector('li[data-message][data-id="' + Number(id) + '"]');
    }

    function byClientId(clientId) {
      var found = null;
      Array.prototype.some.call(items(), function (item) {
        if (item.getAttribute("data-client-id") === clientId) found = item;
        return !!found;
      });
      return found;
    }

    function seqRange() {
      var low = null;
      var high = null;
      Array.prototype.forEach.call(items(), function (item) {
        var seq = seqOf(item);
        if (seq === null) return;
        if (low === null || seq < low) low = seq;
        if (high === null || seq > high) high = seq;
      });
      return { low: low, high: high };
    }

    var initialTop = seqRange().high || 0;

    function isMine(message) {
      return !!(message.sender && message.sender.id != null && message.sender.id === me.id);
    }

    function announce(text) {
      if (!statusLine) return;
      statusLine.textContent = "";
      if (text) {
        window.setTimeout(function () {
          statusLine.textContent = text;
        }, 50);
      }
    }

    /* ------------------------------------------------------------ scrolling */

    // The list starts at the bottom through CSS (flex-col-reverse) so it also does without
    // JavaScript; from here on the script keeps the position itself.
    scroller.classList.remove("flex-col-reverse");
    scroller.classList.add("flex-col");

    function fromBottom() {
      return scroller.scrollHeight - scroller.clientHeight - scroller.scrollTop;
    }

    function atBottom() {
      return fromBottom() <= NEAR_BOTTOM_PX;
    }

    function scrollToBottom() {
      scroller.scrollTop = scroller.scrollHeight;
      pinned = true;
    }

    // Run change() without moving what the reader is looking at: stay at the bottom if they
    // were there, else keep the first visible message where it was. Returns wasAtBottom.
    function keepingView(change) {
      var wasAtBottom = atBottom();
      var anchor = null;
      var offset = 0;
      if (!wasAtBottom) {
        var top = scroller.getBoundingClientRect().top;
        var all = items();
        for (var i = 0; i < all.length; i++) {
          var box = all[i].getBoundingClientRect();
          if (box.bottom > top) {
            anchor = all[i];
            offset = box.top - top;
            break;
          }
        }
      }
      change();
      if (wasAtBottom) {
        scrollToBottom();
      } else if (anchor && anchor.isConnected) {
        var moved = anchor.getBoundingClientRect().top - scroller.getBoundingClientRect().top - offset;
        if (moved) scroller.scrollTop += moved;
      }
      return wasAtBottom;
    }

    function showPill() {
      if (!pill) return;
      pill.classList.remove("hidden");
      pill.classList.add("flex");
    }

    function hidePill() {
      if (!pill) return;
      var hadFocus = document.activeElement === pill;
      pill.classList.add("hidden");
      pill.classList.remove("flex");
      if (hadFocus) (input || scroller).focus();
    }

    /* ------------------------------------------------------------ building messages */

    function setTime(item, iso) {
      var time = item.querySelector("[data-message-time]");
      if (!time) return;
      if (iso) {
        time.setAttribute("datetime", iso);
        time.textContent = M.formatTime(iso, "time");
        var date = M.parseTime(iso);
        if (date) time.setAttribute("title", date.toLocaleString());
      } else {
        time.removeAttribute("datetime");
        time.textContent = "";
      }
    }

    function fill(item, message, mine) {
      var sender = message.sender || {};
      var name = mine ? "You" : sender.display_name || "Deleted user";
      if (message.seq != null) item.setAttribute("data-seq", String(message.seq));
      else item.removeAttribute("data-seq");
      item.setAttribute("data-id", message.id != null ? String(message.id) : "");
      item.setAttribute("data-client-id", message.client_id || "");
      item.setAttribute("data-sender-id", sender.id != null ? String(sender.id) : "");
      item.setAttribute("data-created-at", message.created_at || "");
      item.setAttribute("data-edited-at", message.edited_at || "");
      item.setAttribute("data-edited", message.edited_at ? "true" : "false");
      item.setAttribute("data-deleted", message.deleted ? "true" : "false");
      item.setAttribute("data-mine", mine ? "true" : "false");

      // In a group or room the @username stands beside the name: a name alone can be anyone's.
      var handle = !mine && sender.username ? "@" + sender.username : "";
      var srName = item.querySelector("[data-sender-sr]");
      if (srName) srName.textContent = name + (handle && groupLike ? " (" + handle + ")" : "") + ": ";
      var visibleName = item.querySelector("[data-sender-name]");
      if (visibleName) visibleName.textContent = sender.display_name || "Deleted user";
      var visibleHandle = item.querySelector("[data-sender-username]");
      if (visibleHandle) {
        visibleHandle.textContent = handle;
        visibleHandle.classList.toggle("hidden", !handle);
      }
      var avatar = item.querySelector("[data-sender-avatar]");
      if (avatar) avatar.setAttribute("src", sender.avatar_url || DELETED_AVATAR);
      fillQuote(item.querySelector("[data-reply-quote]"), message.reply_to);
      fillAttachment(item, message, mine);
      var body = item.querySelector("[data-body]");
      if (body) {
        while (body.firstChild) body.removeChild(body.firstChild);
        if (!message.deleted) body.appendChild(linkify(message.body, message.mentions, me.id));
      }
      setTime(item, message.created_at);
      setEditedTitle(item);
      renderReactions(item, message.deleted ? [] : message.reactions || []);
      refreshEditable(item);
    }

    function fillQuote(quote, reply) {
      if (!quote) return;
      quote.classList.toggle("hidden", !reply);
      quote.setAttribute("data-reply-id", reply && reply.id != null ? String(reply.id) : "");
      quote.setAttribute("data-reply-seq", reply && reply.seq != null ? String(reply.seq) : "");
      var name = quote.querySelector("[data-quote-name]");
      if (name) name.textContent = reply ? (reply.sender && reply.sender.display_name) || "Deleted user" : "";
      var preview = quote.querySelector("[data-quote-preview]");
      if (preview) {
        preview.textContent = reply ? quoteText(reply) : "";
        preview.setAttribute("data-deleted", reply && reply.deleted ? "true" : "false");
      }
    }

    // The attachment's block comes from attachments.js (templates/chat/_attachment.html on the
    // server); kept as it is while the same file stays, so an update does not reload the image.
    function fillAttachment(item, message, mine) {
      var slot = item.querySelector("[data-attachment]");
      if (!slot) return;
      var attachment = message.deleted ? null : message.attachment;
      var id = attachment && attachment.id != null ? String(attachment.id) : "";
      if (slot.getAttribute("data-attachment-id") === id && (slot.firstChild || !id)) return;
      while (slot.firstChild) slot.removeChild(slot.firstChild);
      slot.setAttribute("data-attachment-id", id);
      if (attachment && typeof M.renderAttachment === "function") {
        var node = M.renderAttachment(attachment, mine);
        if (node) slot.appendChild(node);
      }
    }

    function setEditedTitle(item) {
      var label = item.querySelector("[data-edited-label]");
      var date = M.parseTime(item.getAttribute("data-edited-at"));
      if (label) label.setAttribute("title", date ? "Edited " + date.toLocaleString() : "");
    }

    // Edit shows on my stored messages while the edit window lasts (the server has the last word).
    function refreshEditable(item) {
      var button = item.querySelector('[data-action="edit"]');
      if (!button) return;
      var created = M.parseTime(item.getAttribute("data-created-at"));
      var editable =
        item.getAttribute("data-mine") === "true" &&
        item.getAttribute("data-state") === "sent" &&
        item.getAttribute("data-deleted") !== "true" &&
        !!created &&
        Date.now() - created.getTime() < editWindowMs;
      if (!editable && document.activeElement === button) focusActions(item, "reply");
      button.classList.toggle("hidden", !editable);
    }

    function focusActions(item, action) {
      var button = item.querySelector('[data-action="' + action + '"]');
      if (button && button.offsetParent !== null) button.focus();
      else scroller.focus();
    }

    /* ------------------------------------------------------------ reactions */

    function reactorNames(userIds) {
      return (userIds || [])
        .map(function (id) {
          if (id === me.id) return "You";
          return members[id] ? members[id].display_name : "Someone";
        })
        .join(", ");
    }

    function buildChip(reaction) {
      var chip = chipTemplate.content.firstElementChild.cloneNode(true);
      var who = reactorNames(reaction.user_ids);
      chip.setAttribute("data-emoji", reaction.emoji);
      chip.setAttribute("aria-pressed", (reaction.user_ids || []).indexOf(me.id) !== -1 ? "true" : "false");
      chip.setAttribute("aria-label", reaction.emoji + " " + reaction.count + ": " + who);
      chip.setAttribute("title", who);
      chip.querySelector("[data-reaction-emoji]").textContent = reaction.emoji;
      chip.querySelector("[data-reaction-count]").textContent = String(reaction.count);
      return chip;
    }

    function renderReactions(item, reactions) {
      var box = item.querySelector("[data-reactions]");
      if (!box || !chipTemplate) return;
      var focused = box.contains(document.activeElement) ? document.activeElement.getAttribute("data-emoji") : null;
      while (box.firstChild) box.removeChild(box.firstChild);
      reactions.forEach(function (reaction) {
        var chip = buildChip(reaction);
        box.appendChild(chip);
        if (focused !== null && reaction.emoji === focused) chip.focus();
      });
      if (focused !== null && !box.contains(document.activeElement)) focusActions(item, "react");
    }

    function build(message, mine) {
      var item = (mine ? ownTemplate : otherTemplate).content.firstElementChild.cloneNode(true);
      fill(item, message, mine);
      return item;
    }

    // Place by seq: before the first stored message with a higher seq, else after the last
    // stored one. Pending bubbles (no seq yet) stay where they are.
    function insertInOrder(item, seq) {
      var all = items();
      var lastStored = null;
      var firstPending = null;
      for (var i = 0; i < all.length; i++) {
        var other = all[i];
        if (other === item) continue;
        var otherSeq = seqOf(other);
        if (otherSeq === null) {
          if (!firstPending) firstPending = other;
          continue;
        }
        if (otherSeq > seq) {
          list.insertBefore(item, other);
          return;
        }
        lastStored = other;
      }
      if (lastStored) list.insertBefore(item, lastStored.nextSibling);
      else if (firstPending) list.insertBefore(item, firstPending);
      else list.appendChild(item);
    }

    function inOrder(item) {
      var seq = seqOf(item);
      var node = item.previousElementSibling;
      while (node) {
        if (node.hasAttribute("data-message") && seqOf(node) !== null) {
          if (seqOf(node) > seq) return false;
          break;
        }
        node = node.previousElementSibling;
      }
      node = item.nextElementSibling;
      while (node) {
        if (node.hasAttribute("data-message") && seqOf(node) !== null) return seqOf(node) > seq;
        node = node.nextElementSibling;
      }
      return true;
    }

    /* ------------------------------------------------------------ day lines, runs, "Seen" */

    function fixSeparators() {
      var claimed = [];
      var previousDay = null;
      Array.prototype.forEach.call(items(), function (item) {
        var date = M.parseTime(item.getAttribute("data-created-at")) || new Date();
        var day = M.dayKey(date);
        if (day !== previousDay) {
          var before = item.previousElementSibling;
          var separator;
          if (before && before.hasAttribute("data-day-separator") && claimed.indexOf(before) === -1) {
            separator = before; // reuse it (relabelling is not announced as a new line)
          } else {
            separator = separatorTemplate.content.firstElementChild.cloneNode(true);
            list.insertBefore(separator, item);
          }
          if (separator.getAttribute("data-day") !== day) separator.setAttribute("data-day", day);
          var label = separator.querySelector("[data-day-label]") || separator;
          var text = M.dayLabel(date);
          if (label.textContent !== text) label.textContent = text;
          claimed.push(separator);
        }
        previousDay = day;
      });
      Array.prototype.forEach.call(list.querySelectorAll("[data-day-separator]"), function (separator) {
        if (claimed.indexOf(separator) === -1) separator.remove();
      });
    }

    function fixRuns() {
      var previousSender = null;
      Array.prototype.forEach.call(list.children, function (node) {
        if (!node.hasAttribute("data-message")) {
          previousSender = null;
          return;
        }
        var sender = node.getAttribute("data-mine") === "true" ? "me" : "u" + node.getAttribute("data-sender-id");
        var first = previousSender === null || previousSender !== sender;
        node.classList.toggle("mt-3", first);
        node.classList.toggle("mt-0.5", !first);
        var header = node.querySelector("[data-sender-header]");
        if (header) header.classList.toggle("hidden", !first);
        previousSender = sender;
      });
    }

    function seenText(seq) {
      var count = 0;
      Object.keys(members).forEach(function (id) {
        if (Number(id) === me.id) return;
        if ((parseInt(members[id].last_read_seq, 10) || 0) >= seq) count++;
      });
      if (!count) return "";
      return groupLike ? "Seen by " + count : "Seen";
    }

    function updateSeen() {
      var all = items();
      var last = null;
      for (var i = all.length - 1; i >= 0; i--) {
        if (all[i].getAttribute("data-mine") === "true" && seqOf(all[i]) !== null) {
          last = all[i];
          break;
        }
      }
      var text = last ? seenText(seqOf(last)) : "";
      var keep = null;
      Array.prototype.forEach.call(list.querySelectorAll("[data-seen-receipt]"), function (receipt) {
        if (text && !keep && receipt.parentElement === last) keep = receipt;
        else receipt.remove();
      });
      if (!text) return;
      if (!keep) {
        if (seenTemplate) {
          keep = seenTemplate.content.firstElementChild.cloneNode(true);
        } else {
          keep = document.createElement("p");
          keep.className = "mt-1 px-1 text-xs text-slate-500 dark:text-slate-400";
          keep.setAttribute("data-seen-receipt", "");
        }
        keep.textContent = text;
        last.appendChild(keep);
      } else if (keep.textContent !== text) {
        keep.textContent = text;
      }
    }

    function refreshDecorations() {
      fixSeparators();
      fixRuns();
      updateSeen();
      if (emptyState) emptyState.classList.toggle("hidden", items().length > 0);
    }

    /* ------------------------------------------------------------ incoming messages */

    function confirm(item, message) {
      var twin = bySeq(message.seq);
      if (twin && twin !== item) {
        keepingView(function () {
          item.remove();
          refreshDecorations();
        });
        return;
      }
      delete pendingBodies[item.getAttribute("data-client-id")];
      delete pendingReplies[item.getAttribute("data-client-id")];
      delete pendingAttachments[item.getAttribute("data-client-id")];
      fill(item, message, true);
      item.setAttribute("data-state", "sent");
      item.removeAttribute("data-retryable");
      refreshEditable(item);
      keepingView(function () {
        if (!inOrder(item)) insertInOrder(item, message.seq);
        refreshDecorations();
      });
      scheduleMarkRead();
    }

    function place(message) {
      if (bySeq(message.seq)) return;
      var mine = isMine(message);
      if (mine && message.client_id) {
        var pending = byClientId(message.client_id);
        if (pending) {
          confirm(pending, message);
          return;
        }
      }
      var range = seqRange();
      if (hasMore && range.low !== null && message.seq < range.low) return; // not loaded yet anyway
      var item = build(message, mine);
      var wasAtBottom = keepingView(function () {
        insertInOrder(item, message.seq);
        refreshDecorations();
      });
      if (!wasAtBottom && !mine) showPill();
      scheduleMarkRead();
    }

    function receive(message) {
      if (!message || String(message.conversation_id) !== String(cid)) return;
      if (message.sender && message.sender.id != null) stopTyping(message.sender.id);
      if (bySeq(message.seq)) return;
      if (holeSync) {
        holeSync.then(function () {
          place(message);
        });
        return;
      }
      var high = seqRange().high;
      var expected = (high === null ? initialTop : high) + 1;
      if (message.seq > expected && M.sync) {
        // A gap: fetch what is missing first, so the conversation reads in order.
        holeSync = M.sync(cid, expected - 1)
          .then(function (found) {
            found.forEach(function (other) {
              if (String(other.conversation_id) === String(cid)) place(other);
            });
          }, noop)
          .then(function () {
            holeSync = null;
            place(message);
          });
        return;
      }
      place(message);
    }

    /* ------------------------------------------------------------ sending */

    function setComposerError(text) {
      if (!composerError) return;
      composerError.textContent = text || "";
      if (input) input.setAttribute("aria-invalid", text ? "true" : "false");
    }

    function fail(item, text, retryable) {
      if (!item.isConnected || item.getAttribute("data-state") === "sent") return;
      item.setAttribute("data-state", "failed");
      if (retryable) item.setAttribute("data-retryable", "true");
      else item.removeAttribute("data-retryable");
      var label = item.querySelector("[data-failed-text]");
      if (label) label.textContent = text;
      announce("Your message was not sent. " + text);
    }

    // Refusals that may pass if the same message is tried again later.
    var RETRYABLE = { internal: true, rate_limited: true, unavailable: true };

    function deliver(item) {
      var clientId = item.getAttribute("data-client-id");
      var body = pendingBodies[clientId];
      if (body == null) return;
      item.setAttribute("data-state", "pending");
      item.removeAttribute("data-retryable");
      var payload = { conversation_id: cid, body: body, client_id: clientId };
      if (pendingReplies[clientId]) payload.reply_to_id = pendingReplies[clientId].id;
      if (pendingAttachments[clientId]) payload.attachment_id = pendingAttachments[clientId].id;
      M.emitWithAck("send_message", payload, SEND_TIMEOUT_MS).then(
        function (ack) {
          if (ack && ack.ok && ack.message) confirm(item, ack.message);
          else fail(item, (ack && ack.message) || "Something went wrong.", !!(ack && RETRYABLE[ack.error]));
        },
        function (error) {
          var timedOut = error && error.message === "timeout";
          fail(item, timedOut ? "The server did not answer." : "You are offline.", true);
        }
      );
    }

    function submit() {
      var body = input.value.replace(/^\s+|\s+$/g, "");
      // A file uploaded by attachments.js goes with this message (which may then have no text).
      var attachmentId = form.getAttribute("data-attachment-id");
      var ready = M.pendingAttachment && String(M.pendingAttachment.id) === attachmentId;
      var attachment = attachmentId ? (ready ? M.pendingAttachment : { id: Number(attachmentId) }) : null;
      if (!body && !attachment) {
        setComposerError("Write something first.");
        input.focus();
        return;
      }
      setComposerError("");
      var clientId = uuid();
      pendingBodies[clientId] = body;
      if (replyTarget) pendingReplies[clientId] = replyTarget;
      if (attachment) pendingAttachments[clientId] = attachment;
      var item = build(
        { seq: null, client_id: clientId, body: body, created_at: new Date().toISOString(), sender: me, reply_to: replyTarget, attachment: attachment },
        true
      );
      cancelReply(false);
      if (attachment) form.dispatchEvent(new CustomEvent("attachment:taken")); // the message holds it now
      item.setAttribute("data-state", "pending");
      list.appendChild(item);
      refreshDecorations();
      scrollToBottom();
      hidePill();
      input.value = "";
      autosize();
      lastTypingSent = 0;
      deliver(item);
    }

    list.addEventListener("click", function (event) {
      var target = event.target.closest ? event.target : null;
      var item = target ? target.closest("li[data-message]") : null;
      if (!item) return;
      var button;
      if ((button = target.closest("[data-retry]"))) {
        deliver(item);
        if (input) input.focus();
      } else if ((button = target.closest("[data-action]"))) {
        if (live && item.getAttribute("data-state") === "sent") onAction(item, button);
      } else if ((button = target.closest("[data-reaction]"))) {
        if (live) actions.react(item, button.getAttribute("data-emoji"), button.getAttribute("aria-pressed") !== "true");
      } else if ((button = target.closest("[data-reply-quote]"))) {
        jumpTo(button.getAttribute("data-reply-seq"));
      }
    });

    function autosize() {
      if (!input) return;
      input.style.height = "auto";
      var style = window.getComputedStyle(input);
      var borders = (parseFloat(style.borderTopWidth) || 0) + (parseFloat(style.borderBottomWidth) || 0);
      input.style.height = input.scrollHeight + borders + "px";
    }

    if (form && input && live) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        submit();
      });

      input.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && replyTarget) {
          event.preventDefault();
          cancelReply(true);
          return;
        }
        if (event.key !== "Enter" || event.shiftKey || event.altKey) return;
        if (event.isComposing || event.keyCode === 229) return; // an input method is composing
        event.preventDefault();
        submit();
      });

      input.addEventListener("input", function () {
        autosize();
        if (composerError && composerError.textContent && input.value.trim()) setComposerError("");
        var now = Date.now();
        if (input.value.trim() && M.connected && now - lastTypingSent >= TYPING_EVERY_MS) {
          lastTypingSent = now;
          M.emitWithAck("typing", { conversation_id: cid }, ACK_TIMEOUT_MS).catch(noop);
        }
      });

      if (replyBar) {
        replyBar.querySelector("[data-reply-cancel]").addEventListener("click", function () {
          cancelReply(true);
        });
      }

      autosize();
    }

    /* ------------------------------------------------------------ message actions */

    // Send an action's event; resolves with the changed M (already shown), rejects with an Error
    // whose message says why.
    function act(event, payload) {
      return M.emitWithAck(event, payload, ACK_TIMEOUT_MS).then(
        function (ack) {
          if (ack && ack.ok && ack.message) {
            applyUpdate(ack.message);
            return ack.message;
          }
          throw new Error((ack && ack.message) || "Something went wrong.");
        },
        function (error) {
          throw new Error(error && error.message === "timeout" ? "The server did not answer." : "You are offline.");
        }
      );
    }

    // R of a message on the page, from what it shows.
    function replyOfItem(item) {
      var senderId = item.getAttribute("data-sender-id");
      var mine = item.getAttribute("data-mine") === "true";
      var person = senderId ? members[senderId] : null;
      var body = item.querySelector("[data-body]");
      var slot = item.querySelector("[data-attachment]");
      var image = slot && slot.querySelector("img");
      var text = body ? body.textContent : "";
      return replyOf({
        id: Number(item.getAttribute("data-id")),
        seq: seqOf(item),
        sender: { id: senderId ? Number(senderId) : null, display_name: mine ? me.display_name : person ? person.display_name : "Deleted user" },
        body: text,
        deleted: item.getAttribute("data-deleted") === "true",
        attachment: slot && slot.getAttribute("data-attachment-id") ? { kind: image ? "image" : "file" } : null
      });
    }

    /* Reply: the bar over the composer, sent along as reply_to_id. */

    function startReply(item) {
      if (!replyBar || !input) return;
      replyTarget = replyOfItem(item);
      replyBar.querySelector("[data-reply-name]").textContent =
        item.getAttribute("data-mine") === "true" ? "yourself" : replyTarget.sender.display_name;
      replyBar.querySelector("[data-reply-preview]").textContent = quoteText(replyTarget);
      replyBar.classList.remove("hidden");
      input.focus();
    }

    function cancelReply(refocus) {
      replyTarget = null;
      if (!replyBar) return;
      replyBar.classList.add("hidden");
      if (refocus && input) input.focus();
    }

    /* Jumping to a message: load older pages until it is here, then show and highlight it. */

    function reveal(item) {
      item.scrollIntoView({ block: "center" });
      pinned = atBottom();
      var bubble = item.querySelector("[data-bubble]");
      if (bubble) {
        bubble.setAttribute("data-highlight", "true");
        window.setTimeout(function () {
          bubble.removeAttribute("data-highlight");
        }, HIGHLIGHT_MS);
      }
      item.setAttribute("tabindex", "-1");
      item.focus({ preventScroll: true });
      item.addEventListener(
        "blur",
        function () {
          item.removeAttribute("tabindex");
        },
        { once: true }
      );
    }

    function jumpTo(seq) {
      seq = parseInt(seq, 10);
      if (!(seq >= 1)) return Promise.resolve(false);
      var item = bySeq(seq);
      if (item) {
        reveal(item);
        return Promise.resolve(true);
      }
      var low = seqRange().low;
      if (!hasMore || low === null || seq > low) {
        announce("That message is not here.");
        return Promise.resolve(false);
      }
      return loadOlder().then(function (loaded) {
        if (!loaded) {
          announce("Couldn't load that message.");
          return false;
        }
        return jumpTo(seq);
      });
    }

    /* Changes to stored messages ("message_updated", acks, a refetch after reconnecting). */

    function applyUpdate(message) {
      if (!message || String(message.conversation_id) !== String(cid)) return;
      var item = (message.id != null && byId(message.id)) || bySeq(message.seq);
      if (item && item.getAttribute("data-state") === "sent") {
        if (actions.held(item, message)) return; // shown once its editor closes
        keepingView(function () {
          fill(item, message, isMine(message));
          refreshDecorations();
        });
      }
      // Replies quoting it follow, and so does the composer's reply bar.
      var reply = replyOf(message);
      Array.prototype.forEach.call(
        list.querySelectorAll('[data-reply-quote][data-reply-id="' + Number(message.id) + '"]'),
        function (quote) {
          fillQuote(quote, reply);
        }
      );
      if (replyTarget && replyTarget.id === message.id && message.deleted) {
        cancelReply(false);
        announce("The message you were replying to was deleted.");
      }
    }

    // After a reconnect: every message held, page by page from the oldest, for what was edited,
    // deleted or reacted to meanwhile (new messages come through sync).
    function refetchHeld() {
      var range = seqRange();
      if (!data.messages_url || range.low === null) return;
      function from(after) {
        var url = new URL(data.messages_url, window.location.href);
        url.searchParams.set("after", String(after));
        url.searchParams.set("limit", String(REFETCH_PAGE_SIZE));
        M.getJSON(url.toString())
          .then(function (page) {
            var messages = page.messages || [];
            messages.forEach(function (message) {
              if (byId(message.id)) applyUpdate(message);
            });
            var last = messages.length ? messages[messages.length - 1].seq : null;
            if (page.has_more && last !== null && last < range.high) from(last);
          })
          .catch(noop);
      }
      from(range.low - 1);
    }

    var actions = M.messageActions({
      scroller: scroller,
      act: act,
      announce: announce,
      focusActions: focusActions,
      applyUpdate: applyUpdate
    });

    function onAction(item, button) {
      var action = button.getAttribute("data-action");
      if (action === "reply") startReply(item);
      else if (action === "react") actions.openPicker(item, button);
      else if (action === "edit") actions.startEdit(item);
      else if (action === "delete") actions.askDelete(item);
    }

    /* ------------------------------------------------------------ reading */

    function reading() {
      return !document.hidden && atBottom();
    }

    M.setReading(function (conversationId) {
      return String(conversationId) === String(cid) && reading();
    });

    function markRead() {
      if (!live || !M.connected || !reading()) return;
      var seq = seqRange().high;
      if (seq === null || seq <= lastRead || seq <= markingSeq) return;
      markingSeq = seq;
      M.emitWithAck("mark_read", { conversation_id: cid, seq: seq }, ACK_TIMEOUT_MS).then(
        function (ack) {
          if (ack && ack.ok) {
            if (seq > lastRead) lastRead = seq;
            if (M.clearUnread) M.clearUnread(cid, seq);
          }
        },
        noop
      ).then(function () {
        if (markingSeq === seq) markingSeq = 0;
      });
    }

    function scheduleMarkRead() {
      window.clearTimeout(markTimer);
      markTimer = window.setTimeout(markRead, MARK_READ_DELAY_MS);
    }

    /* ------------------------------------------------------------ older messages */

    function updateOlderButton() {
      if (!olderButton) return;
      var hadFocus = document.activeElement === olderButton;
      olderButton.classList.toggle("hidden", !hasMore);
      olderButton.disabled = loadingOlder;
      olderButton.textContent = loadingOlder
        ? "Loading…"
        : olderFailed
          ? "Couldn't load. Try again"
          : "Load older messages";
      if (hadFocus && !hasMore) scroller.focus();
    }

    // Resolves true once a page was added (false when there was none to load or it failed);
    // a call while one is on its way gets that one.
    var olderRequest = null;

    function loadOlder() {
      if (loadingOlder && olderRequest) return olderRequest;
      if (!hasMore || !data.messages_url || !window.fetch) return Promise.resolve(false);
      var before = seqRange().low;
      if (before === null) return Promise.resolve(false);
      loadingOlder = true;
      olderFailed = false;
      if (log) log.setAttribute("aria-busy", "true");
      updateOlderButton();

      var url = new URL(data.messages_url, window.location.href);
      url.searchParams.set("before", String(before));
      url.searchParams.set("limit", String(PAGE_SIZE));
      olderRequest = M.getJSON(url.toString())
        .then(function (page) {
          var older = (page.messages || []).filter(function (message) {
            return String(message.conversation_id) === String(cid) && !bySeq(message.seq);
          });
          keepingView(function () {
            var fragment = document.createDocumentFragment();
            older.forEach(function (message) {
              fragment.appendChild(build(message, isMine(message)));
            });
            list.insertBefore(fragment, list.firstChild);
            refreshDecorations();
          });
          hasMore = !!page.has_more;
          announce(
            older.length
              ? "Loaded " + older.length + " older message" + (older.length === 1 ? "" : "s") + "."
              : "No older messages."
          );
          return true;
        })
        .catch(function () {
          olderFailed = true;
          announce("Couldn't load older messages.");
          return false;
        })
        .then(function (loaded) {
          loadingOlder = false;
          olderRequest = null;
          if (log) log.removeAttribute("aria-busy");
          updateOlderButton();
          fillViewport();
          return loaded;
        });
      return olderRequest;
    }

    // Short history: keep loading until there is something to scroll.
    function fillViewport() {
      if (hasMore && !olderFailed && !loadingOlder && scroller.scrollHeight <= scroller.clientHeight + NEAR_TOP_PX) {
        window.setTimeout(loadOlder, 0);
      }
    }

    if (olderButton) {
      olderButton.addEventListener("click", function () {
        olderFailed = false;
        loadOlder();
      });
    }

    scroller.addEventListener(
      "scroll",
      function () {
        pinned = atBottom();
        if (pinned) {
          hidePill();
          scheduleMarkRead();
        }
        if (hasMore && !olderFailed && scroller.scrollTop < NEAR_TOP_PX) loadOlder();
      },
      { passive: true }
    );

    if (pill) {
      pill.addEventListener("click", function () {
        scrollToBottom();
        hidePill();
        scheduleMarkRead();
      });
    }

    // The keyboard opening on a phone, the composer growing, a rotated screen: stay at the bottom.
    function onResize() {
      if (pinned) scrollToBottom();
    }
    if (typeof window.ResizeObserver === "function") {
      new window.ResizeObserver(onResize).observe(scroller);
    } else {
      window.addEventListener("resize", onResize);
    }

    /* ------------------------------------------------------------ typing */

    function renderTyping() {
      if (!typingLine) return;
      var names = Object.keys(typers).map(function (id) {
        return members[id] ? members[id].display_name : "Someone";
      });
      var text = "";
      if (names.length === 1) text = names[0] + " is typing…";
      else if (names.length === 2) text = names[0] + " and " + names[1] + " are typing…";
      else if (names.length > 2) {
        var others = names.length - 2;
        text = names[0] + ", " + names[1] + " and " + others + " other" + (others === 1 ? "" : "s") + " are typing…";
      }
      if (typingLine.textContent !== text) typingLine.textContent = text;
    }

    function stopTyping(userId) {
      if (!(userId in typers)) return;
      window.clearTimeout(typers[userId]);
      delete typers[userId];
      renderTyping();
    }

    /* ------------------------------------------------------------ presence */

    var writePresence = M.writePresence;

    function renderPresence() {
      if (!presenceLine) return;
      if (groupLike) {
        var ids = Object.keys(members);
        var online = ids.filter(function (id) {
          return Number(id) === me.id || members[id].online;
        }).length;
        var countNode = presenceLine.querySelector("[data-member-count]");
        var onlineNode = presenceLine.querySelector("[data-online-count]");
        if (countNode) countNode.textContent = ids.length + " member" + (ids.length === 1 ? "" : "s");
        if (onlineNode) onlineNode.textContent = online + " online";
      } else {
        var partnerId = Object.keys(members).filter(function (id) {
          return Number(id) !== me.id;
        })[0];
        if (partnerId) writePresence(members[partnerId], presenceLine);
      }
    }

    function renderMember(person) {
      if (!memberList) return;
      var item = memberList.querySelector('[data-member-id="' + Number(person.id) + '"]');
      if (!item) return;
      item.setAttribute("data-online", person.online ? "true" : "false");
      var status = item.querySelector("[data-member-status]");
      if (status) writePresence(person, status);
    }

    /* ------------------------------------------------------------ connection */

    function setConnection(text) {
      if (connectionLine && connectionLine.textContent !== text) connectionLine.textContent = text;
    }

    /* ------------------------------------------------------------ members panel */

    if (membersPanel) {
      document.addEventListener("click", function (event) {
        if (membersPanel.open && !membersPanel.contains(event.target)) membersPanel.open = false;
      });
      membersPanel.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && membersPanel.open) {
          membersPanel.open = false;
          var summary = membersPanel.querySelector("summary");
          if (summary) summary.focus();
        }
      });
    }

    /* ------------------------------------------------------------ wiring */

    M.track(cid, initialTop);

    M.on("message", function (message) {
      receive(message);
    });

    M.on("message_updated", applyUpdate);

    M.on("read", function (event) {
      if (String(event.conversation_id) !== String(cid)) return;
      var person = members[event.user_id];
      if (!person) person = members[event.user_id] = { id: event.user_id, last_read_seq: 0 };
      person.last_read_seq = Math.max(parseInt(person.last_read_seq, 10) || 0, parseInt(event.seq, 10) || 0);
      if (event.user_id === me.id && event.seq > lastRead) lastRead = event.seq;
      updateSeen();
    });

    M.on("typing", function (event) {
      if (String(event.conversation_id) !== String(cid) || event.user_id === me.id) return;
      window.clearTimeout(typers[event.user_id]);
      typers[event.user_id] = window.setTimeout(function () {
        stopTyping(event.user_id);
      }, TYPING_SHOWN_MS);
      renderTyping();
    });

    M.on("presence", function (event) {
      var person = members[event.user_id];
      if (!person || event.user_id === me.id) return;
      person.online = !!event.online;
      if (event.last_seen) person.last_seen = event.last_seen;
      renderPresence();
      renderMember(person);
    });

    M.on("connect", function () {
      setConnection("");
      scheduleMarkRead();
    });

    M.on("disconnect", function () {
      setConnection("Reconnecting…");
    });

    M.on("connect_error", function (error) {
      var code = error && error.message;
      if (code === "unauthorized") setConnection("Signed out. Reload the page.");
      // Refused for too many open tabs or connections: the server's words (it retries now and then).
      else if (M.refusedWith(error)) setConnection(M.refusedWith(error));
      else setConnection("Reconnecting…");
    });

    // After a reconnect has caught up: send again what failed for want of a connection, and show
    // what was edited or deleted meanwhile (the first connect follows the page's own render).
    var syncedBefore = false;
    M.on("synced", function () {
      Array.prototype.forEach.call(list.querySelectorAll('li[data-state="failed"][data-retryable="true"]'), deliver);
      if (syncedBefore) refetchHeld();
      syncedBefore = true;
    });

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) scheduleMarkRead();
    });
    window.addEventListener("focus", scheduleMarkRead);

    function refreshAllEditable() {
      Array.prototype.forEach.call(list.querySelectorAll('li[data-message][data-mine="true"]'), refreshEditable);
    }

    if (live) root.setAttribute("data-live", "true");
    Array.prototype.forEach.call(items(), setEditedTitle);
    refreshAllEditable();
    refreshDecorations();
    updateOlderButton();
    scrollToBottom();
    fillViewport();
    window.setInterval(fixSeparators, 60000); // "Today" becomes "Yesterday" at midnight
    window.setInterval(refreshAllEditable, 30000); // the edit window closes

    // A search result links to ?around=<seq>: bring that message into view.
    var around = new URLSearchParams(window.location.search).get("around");
    if (around) jumpTo(around);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
