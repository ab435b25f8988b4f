/* Messanger: the live conversation list on the home page.
 *
 * Markup (see templates/main/home.html and chat/_macros.html conversation_row):
 *   <ul data-conversation-list> <li data-conversation-id data-kind data-last-seq data-unread
 *     data-mentions data-muted data-pinned data-archived> ... </ul>   pinned first
 *   <details data-conversation-archive> Archived (<span data-archive-count>)
 *     <ul data-conversation-archive-list> the archived rows </ul> </details>
 *   <template id="conversation-row-template"> one blank row </template>
 *   <div data-conversation-empty> shown while there is no conversation at all </div>
 *
 * With window.Messanger (realtime.js): a new message updates its row's preview and time and moves
 * the row to the top (below the pinned ones; out of the archive unless muted); unread and mention
 * badges follow Messanger's "unread" events; "conversation_settings" (my mute, pin, archive, from
 * any tab) updates the row and moves it; a message for a conversation that is not listed yet
 * reloads the list from GET /api/conversations. All text goes in with textContent. Without
 * JavaScript the server-drawn list stays as it is.
 */
(function () {
  "use strict";

  var REFRESH_DELAY_MS = 300;

  function init() {
    var M = window.Messanger;
    var list = document.querySelector("[data-conversation-list]");
    var archive = document.querySelector("[data-conversation-archive]");
    var archiveList = document.querySelector("[data-conversation-archive-list]");
    var archiveCount = document.querySelector("[data-archive-count]");
    var template = document.getElementById("conversation-row-template");
    var empty = document.querySelector("[data-conversation-empty]");
    if (!M || !M.on || !list || !template) return;

    var refreshTimer = null;

    function rowsOf(container) {
      return container ? container.querySelectorAll("li[data-conversation-id]") : [];
    }

    function rows() {
      return Array.prototype.slice.call(rowsOf(list)).concat(Array.prototype.slice.call(rowsOf(archiveList)));
    }

    function rowFor(id) {
      var found = null;
      rows().forEach(function (row) {
        if (row.getAttribute("data-conversation-id") === String(id)) found = row;
      });
      return found;
    }

    function flag(row, name) {
      return row.getAttribute("data-" + name) === "true";
    }

    function setFlag(row, name, value) {
      row.setAttribute("data-" + name, value ? "true" : "false");
    }

    // The same text as the conversation_row macro draws: [who, what] (what goes in a <bdi>, or
    // null for a line of ours such as "No messages yet").
    function previewParts(kind, message) {
      if (!message) return ["No messages yet", null];
      if (message.deleted) return ["Message deleted", null];
      var body = String(message.body || "").replace(/\s+/g, " ").trim().slice(0, 200);
      var attachment = message.attachment;
      if (!body && attachment) body = attachment.kind === "image" ? "Photo" : String(attachment.filename || "");
      var sender = message.sender || {};
      if (sender.id != null && sender.id === M.userId) return ["You: ", body];
      if (kind !== "direct") return [(sender.display_name || "Deleted user") + ": ", body];
      return ["", body];
    }

    function writePreview(preview, kind, message) {
      var parts = previewParts(kind, message);
      while (preview.firstChild) preview.removeChild(preview.firstChild);
      if (parts[0]) preview.appendChild(document.createTextNode(parts[0]));
      if (parts[1] !== null) {
        var what = document.createElement("bdi");
        what.textContent = parts[1];
        preview.appendChild(what);
      }
    }

    function plural(count, word) {
      return count + " " + word + (count === 1 ? "" : "s");
    }

    // The link's accessible name: title, pinned, muted, unread messages, unread mentions.
    function relabel(row) {
      var link = row.querySelector("[data-conversation-link]");
      var title = row.querySelector("[data-conversation-title]");
      if (!link || !title) return;
      var unread = parseInt(row.getAttribute("data-unread-count"), 10) || 0;
      var mentions = parseInt(row.getAttribute("data-mentions"), 10) || 0;
      var username = row.getAttribute("data-username");
      var label = title.textContent + (username ? " (@" + username + ")" : "");
      if (flag(row, "pinned")) label += ", pinned";
      if (flag(row, "muted")) label += ", muted";
      if (unread) label += ", " + plural(unread, "unread message");
      if (mentions) label += ", " + plural(mentions, "unread mention");
      link.setAttribute("aria-label", label);
    }

    function setUnread(row, count) {
      var badge = row.querySelector("[data-conversation-unread]");
      count = count > 0 ? count : 0;
      setFlag(row, "unread", count > 0);
      row.setAttribute("data-unread-count", String(count));
      if (badge) {
        badge.textContent = count > 99 ? "99+" : String(count);
        badge.classList.toggle("hidden", count === 0);
      }
      relabel(row);
    }

    function setMentions(row, count) {
      var badge = row.querySelector("[data-conversation-mentions]");
      var number = row.querySelector("[data-conversation-mention-count]");
      count = count > 0 ? count : 0;
      row.setAttribute("data-mentions", String(count));
      if (badge) {
        var label = count ? plural(count, "unread mention") : "";
        badge.setAttribute("aria-label", label);
        badge.setAttribute("title", label);
        badge.classList.toggle("hidden", count === 0);
      }
      if (number) number.textContent = count > 99 ? "99+" : String(count);
      relabel(row);
    }

    function setMessage(row, message) {
      var preview = row.querySelector("[data-conversation-preview]");
      var time = row.querySelector("[data-conversation-time]");
      if (preview) writePreview(preview, row.getAttribute("data-kind"), message);
      if (time) {
        if (message && message.created_at) {
          time.setAttribute("datetime", message.created_at);
          time.textContent = M.formatTime ? M.formatTime(message.created_at, "short") : "";
        } else {
          time.removeAttribute("datetime");
          time.textContent = "";
        }
      }
      if (message) row.setAttribute("data-last-seq", String(message.seq));
    }

    // muted, pinned, archived as C says.
    function setSettings(row, conversation) {
      setFlag(row, "muted", !!conversation.muted);
      setFlag(row, "pinned", !!conversation.pinned);
      setFlag(row, "archived", !!conversation.archived);
      relabel(row);
    }

    function buildRow(conversation) {
      var row = template.content.firstElementChild.cloneNode(true);
      var id = String(conversation.id);
      var link = row.querySelector("[data-conversation-link]");
      var avatar = row.querySelector("[data-conversation-avatar]");
      var title = row.querySelector("[data-conversation-title]");
      var preview = row.querySelector("[data-conversation-preview]");
      var time = row.querySelector("[data-conversation-time]");
      row.setAttribute("data-conversation-id", id);
      row.setAttribute("data-kind", conversation.kind || "direct");
      row.setAttribute("data-last-seq", String(conversation.last_seq || 0));
      if (link) {
        link.setAttribute("href", conversation.url || "#");
        link.setAttribute("aria-describedby", "conversation-" + id + "-preview conversation-" + id + "-time");
      }
      if (avatar) avatar.setAttribute("src", conversation.avatar_url || "");
      if (title) title.textContent = conversation.title || "";
      // A direct chat's @username beside the name: the display name alone could be anyone's.
      var username = row.querySelector("[data-conversation-username]");
      if (conversation.username) row.setAttribute("data-username", conversation.username);
      else row.removeAttribute("data-username");
      if (username) {
        username.textContent = conversation.username ? "@" + conversation.username : "";
        username.classList.toggle("hidden", !conversation.username);
      }
      if (preview) preview.id = "conversation-" + id + "-preview";
      if (time) time.id = "conversation-" + id + "-time";
      setMessage(row, conversation.last_message);
      setSettings(row, conversation);
      setUnread(row, conversation.unread_count || 0);
      setMentions(row, conversation.unread_mentions || 0);
      return row;
    }

    function updateEmpty() {
      var listed = rowsOf(list).length;
      var archived = rowsOf(archiveList).length;
      list.classList.toggle("hidden", listed === 0);
      if (archive) archive.classList.toggle("hidden", archived === 0);
      if (archiveCount) archiveCount.textContent = String(archived);
      if (empty) empty.classList.toggle("hidden", listed + archived > 0);
    }

    // Moving the row that holds the focus would drop the focus: put it back.
    function insert(container, row, before) {
      if (row.parentNode === container && (row === before || row.nextElementSibling === before)) return;
      var focused = document.activeElement;
      var hadFocus = focused && row.contains(focused);
      container.insertBefore(row, before || null);
      if (hadFocus) focused.focus();
    }

    // Where a row goes after news: archived ones to the top of the archive; in the list, pinned ones
    // to the top when they were not pinned there yet (a new pin is the newest), others right after
    // the pinned ones (the newest activity).
    function place(row) {
      if (flag(row, "archived") && archiveList) {
        insert(archiveList, row, archiveList.firstElementChild);
      } else if (flag(row, "pinned")) {
        if (row.parentNode !== list) insert(list, row, list.firstElementChild);
      } else {
        var after = null;
        Array.prototype.forEach.call(rowsOf(list), function (other) {
          if (other !== row && flag(other, "pinned")) after = other;
        });
        insert(list, row, after ? after.nextElementSibling : list.firstElementChild);
      }
      updateEmpty();
    }

    function render(conversations) {
      var focusedId = null;
      var focused = document.activeElement;
      if (focused && (list.contains(focused) || (archiveList && archiveList.contains(focused)))) {
        var current = focused.closest("li[data-conversation-id]");
        if (current) focusedId = current.getAttribute("data-conversation-id");
      }
      var listed = document.createDocumentFragment();
      var archived = document.createDocumentFragment();
      conversations.forEach(function (conversation) {
        var target = conversation.archived && archiveList ? archived : listed;
        target.appendChild(buildRow(conversation));
      });
      [list, archiveList].forEach(function (container) {
        if (!container) return;
        container.setAttribute("aria-busy", "true");
        while (container.firstChild) container.removeChild(container.firstChild);
      });
      list.appendChild(listed);
      list.removeAttribute("aria-busy");
      if (archiveList) {
        archiveList.appendChild(archived);
        archiveList.removeAttribute("aria-busy");
      }
      updateEmpty();
      if (focusedId) {
        var again = rowFor(focusedId);
        var link = again && again.querySelector("[data-conversation-link]");
        if (link) link.focus();
      }
    }

    function refresh() {
      window.clearTimeout(refreshTimer);
      refreshTimer = window.setTimeout(function () {
        M.fetchConversations().then(render, function () {
          /* keep what is shown; the next message tries again */
        });
      }, REFRESH_DELAY_MS);
    }

    rows().forEach(function (row) {
      var badge = row.querySelector("[data-conversation-unread]");
      row.setAttribute("data-unread-count", String(parseInt(badge && badge.textContent, 10) || 0));
    });

    // What the server drew is the complete list: it tells realtime.js which conversations are unread.
    if (M.seedUnread) {
      M.seedUnread(
        rows().map(function (row) {
          return {
            id: row.getAttribute("data-conversation-id"),
            unread_count: parseInt(row.getAttribute("data-unread-count"), 10) || 0,
            unread_mentions: parseInt(row.getAttribute("data-mentions"), 10) || 0,
            muted: flag(row, "muted"),
            last_seq: parseInt(row.getAttribute("data-last-seq"), 10) || 0
          };
        }),
        true
      );
    }

    M.on("message", function (message) {
      var row = rowFor(message.conversation_id);
      if (!row) {
        refresh();
        return;
      }
      var shown = parseInt(row.getAttribute("data-last-seq"), 10) || 0;
      if (message.seq < shown) return; // an older message filling a gap: the preview stays
      setMessage(row, message);
      // A message brings an archived conversation back, unless it is muted.
      if (flag(row, "archived") && !flag(row, "muted")) setFlag(row, "archived", false);
      place(row);
    });

    // realtime.js counts unread messages and mentions (bumped by messages, cleared by my "read").
    M.on("unread", function (event) {
      var row = rowFor(event.conversation_id);
      if (!row) return;
      setUnread(row, event.count);
      if (event.mentions != null) setMentions(row, event.mentions);
    });

    // I muted, pinned or archived a conversation (in another tab, or on its page).
    M.on("conversation_settings", function (conversation) {
      var row = rowFor(conversation.id);
      if (!row) {
        refresh();
        return;
      }
      var wasPinned = flag(row, "pinned");
      var wasArchived = flag(row, "archived");
      var pinned = !!conversation.pinned;
      var archived = !!conversation.archived;
      setSettings(row, conversation);
      if (pinned && !wasPinned && !archived) {
        insert(list, row, list.firstElementChild); // just pinned: the newest pin
        updateEmpty();
      } else if (archived !== wasArchived) {
        place(row);
      }
      // Back among the others: the server knows their order by activity.
      if ((wasPinned && !pinned) || (wasArchived && !archived)) refresh();
    });

    // Friends' presence: "online" or "last seen …" under each name, with a dot on the picture.
    M.on("presence", function (event) {
      var nodes = document.querySelectorAll('[data-presence-for="' + Number(event.user_id) + '"]');
      Array.prototype.forEach.call(nodes, function (node) {
        node.setAttribute("data-online", event.online ? "true" : "false");
        var text = node.querySelector("[data-presence-text]");
        if (text) M.writePresence({ online: !!event.online, last_seen: event.last_seen }, text);
      });
    });

    // Back from a conversation through the browser's cache: the list may be stale.
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) refresh();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
