/* Messanger: the live conversation list on the home page.
 *
 * Markup (see templates/main/home.html and chat/_macros.html conversation_row):
 *   <ul data-conversation-list> <li data-conversation-id data-kind data-last-seq data-unread> ... </ul>
 *   <template id="conversation-row-template"> one blank row </template>
 *   <div data-conversation-empty> shown while the list is empty </div>
 *
 * With window.Messanger (realtime.js): a new message updates its row's preview and time and moves
 * the row to the top; unread badges follow Messanger's "unread" events; a message for a
 * conversation that is not listed yet reloads the list from GET /api/conversations.
 * All text goes in with textContent. Without JavaScript the server-drawn list stays as it is.
 */
(function () {
  "use strict";

  var REFRESH_DELAY_MS = 300;

  function init() {
    var M = window.Messanger;
    var list = document.querySelector("[data-conversation-list]");
    var template = document.getElementById("conversation-row-template");
    var empty = document.querySelector("[data-conversation-empty]");
    if (!M || !M.on || !list || !template) return;

    var refreshTimer = null;

    function rows() {
      return list.querySelectorAll("li[data-conversation-id]");
    }

    function rowFor(id) {
      var found = null;
      Array.prototype.forEach.call(rows(), function (row) {
        if (row.getAttribute("data-conversation-id") === String(id)) found = row;
      });
      return found;
    }

    function previewText(kind, message) {
      if (!message) return "No messages yet";
      var body = String(message.body || "").replace(/\s+/g, " ").trim().slice(0, 200);
      var sender = message.sender || {};
      if (sender.id != null && sender.id === M.userId) return "You: " + body;
      if (kind !== "direct") return (sender.display_name || "Deleted user") + ": " + body;
      return body;
    }

    function setUnread(row, count) {
      var badge = row.querySelector("[data-conversation-unread]");
      var link = row.querySelector("[data-conversation-link]");
      var title = row.querySelector("[data-conversation-title]");
      count = count > 0 ? count : 0;
      row.setAttribute("data-unread", count ? "true" : "false");
      if (badge) {
        badge.textContent = count > 99 ? "99+" : String(count);
        badge.classList.toggle("hidden", count === 0);
      }
      if (link && title) {
        var label = title.textContent;
        if (count) label += ", " + count + " unread message" + (count === 1 ? "" : "s");
        link.setAttribute("aria-label", label);
      }
    }

    function setMessage(row, message) {
      var preview = row.querySelector("[data-conversation-preview]");
      var time = row.querySelector("[data-conversation-time]");
      if (preview) preview.textContent = previewText(row.getAttribute("data-kind"), message);
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
      if (preview) preview.id = "conversation-" + id + "-preview";
      if (time) time.id = "conversation-" + id + "-time";
      setMessage(row, conversation.last_message);
      setUnread(row, conversation.unread_count || 0);
      return row;
    }

    function updateEmpty() {
      var hasRows = rows().length > 0;
      list.classList.toggle("hidden", !hasRows);
      if (empty) empty.classList.toggle("hidden", hasRows);
    }

    // Moving the row that holds the focus would drop the focus: put it back.
    function moveToTop(row) {
      if (list.firstElementChild === row) return;
      var focused = document.activeElement;
      var hadFocus = focused && row.contains(focused);
      list.insertBefore(row, list.firstElementChild);
      if (hadFocus) focused.focus();
    }

    function render(conversations) {
      var focusedId = null;
      var focused = document.activeElement;
      if (focused && list.contains(focused)) {
        var current = focused.closest("li[data-conversation-id]");
        if (current) focusedId = current.getAttribute("data-conversation-id");
      }
      var fragment = document.createDocumentFragment();
      conversations.forEach(function (conversation) {
        fragment.appendChild(buildRow(conversation));
      });
      list.setAttribute("aria-busy", "true");
      while (list.firstChild) list.removeChild(list.firstChild);
      list.appendChild(fragment);
      list.removeAttribute("aria-busy");
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

    // What the server drew is the complete list: it tells realtime.js which conversations are unread.
    if (M.seedUnread) {
      M.seedUnread(
        Array.prototype.map.call(rows(), function (row) {
          return {
            id: row.getAttribute("data-conversation-id"),
            unread_count: parseInt((row.querySelector("[data-conversation-unread]") || {}).textContent, 10) || 0,
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
      moveToTop(row);
    });

    M.on("unread", function (event) {
      var row = rowFor(event.conversation_id);
      if (row) setUnread(row, event.count);
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
