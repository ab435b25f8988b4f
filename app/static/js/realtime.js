/* Messanger: the real-time connection shared by every signed-in page.
 *
 * Loaded (deferred, after /static/vendor/socket.io.min.js) on every page of a signed-in user,
 * whose id is in <body data-user-id="...">. It exposes window.Messanger:
 *
 *   Messanger.userId                  my user id (number)
 *   Messanger.socket                  the one Socket.IO socket of this page (null without the client)
 *   Messanger.connected               true while the socket is connected
 *   Messanger.on(event, fn)           subscribe; returns a function that unsubscribes. Events:
 *                                       "message" (M, {synced: bool})  each message once per page
 *                                       "message_updated" (M)  a held message edited, deleted or
 *                                                                  reacted to: replace it by id
 *                                       "read", "typing", "presence"   as sent by the server
 *                                       "connect", "disconnect" (reason), "connect_error" (error)
 *                                       "conversation_settings" (C)  my settings of a
 *                                                                  conversation, changed in another tab
 *                                       "unread" ({conversation_id, count, mentions, muted, total})
 *   Messanger.refusedWith(error)      the message of a connect_error refusing this tab for too many
 *                                     tabs or connections (it retries every 15-45 s), else null
 *   Messanger.emitWithAck(event, payload, timeoutMs)
 *                                     Promise of the server's ack; rejects with Error("timeout"),
 *                                     Error("disconnected") or Error("unavailable").
 *   Messanger.sync(conversationId, afterSeq)
 *                                     fetch the messages after afterSeq (dispatched as "message"
 *                                     events too); Promise of the array of messages.
 *   Messanger.track(conversationId, seq)   remember the last seq this page has (for resyncs)
 *   Messanger.setReading(fn)          fn(conversationId) -> true while the user is reading that
 *                                     conversation at the bottom (its messages do not count as unread)
 *   Messanger.clearUnread(conversationId, seq)
 *   Messanger.seedUnread([{id, unread_count, unread_mentions, muted, last_seq}], complete)
 *   Messanger.unreadCount(conversationId)
 *   Messanger.conversationSettingsChanged(C)   after set_conversation_settings' ack, in the tab
 *                                     that asked (others get "conversation_settings" from the server)
 *   Messanger.fetchConversations()    Promise of GET /api/conversations' list (one request at a time)
 *   Messanger.parseTime(iso), Messanger.dayKey(date), Messanger.formatTime(date, style),
 *   Messanger.dayLabel(date), Messanger.formatTimes(root)
 *                                     local-time helpers; <time datetime="..." data-local-time="STYLE">
 *                                     elements get their text in the user's time zone. STYLE is
 *                                     "time" (14:05), "short" (14:05 / Mon / 21 Nov), "seen"
 *                                     (today at 14:05 / yesterday at ... / 21 Nov at ...) or "day".
 *
 * It also keeps `lastSeq` per conversation (seeded from <script type="application/json"
 * id="conversation-state">{"<id>": last_seq}</script>) and on every (re)connect asks the server
 * for what it missed ("sync"); keeps the navigation's unread badge ([data-unread-badge],
 * [data-unread-sr]) and the document title live (a muted conversation counts only while it holds an
 * unread mention of me, as on the server); shows browser notifications for messages from others
 * while the page is hidden, once the user allowed them with a [data-enable-notifications] button
 * (none for a muted conversation, unless the message mentions me).
 */
(function () {
  "use strict";

  var M = window.Messanger || {};
  window.Messanger = M;

  var rawId = document.body ? document.body.getAttribute("data-user-id") : null;
  var myId = rawId ? parseInt(rawId, 10) : NaN;
  M.userId = isNaN(myId) ? null : myId;

  function noop() {}

  /* ---------------------------------------------------------------- local time */

  function parseTime(value) {
    if (!value) return null;
    if (value instanceof Date) return value;
    // Python's isoformat: microseconds and possibly a space; keep milliseconds, use "T".
    var text = String(value).trim().replace(" ", "T").replace(/(\.\d{3})\d+/, "$1");
    var date = new Date(text);
    return isNaN(date.getTime()) ? null : date;
  }

  function pad(number) {
    return number < 10 ? "0" + number : String(number);
  }

  function dayKey(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
  }

  function daysAgo(date, now) {
    var a = new Date(date.getFullYear(), date.getMonth(), date.getDate());
    var b = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    return Math.round((b - a) / 86400000);
  }

  function format(date, options) {
    try {
      return date.toLocaleString(undefined, options);
    } catch (error) {
      return date.toLocaleString();
    }
  }

  function clock(date) {
    return format(date, { hour: "2-digit", minute: "2-digit" });
  }

  function shortDate(date, now) {
    var options = { day: "numeric", month: "short" };
    if (date.getFullYear() !== now.getFullYear()) options.year = "numeric";
    return format(date, options);
  }

  function formatTime(value, style) {
    var date = parseTime(value);
    if (!date) return "";
    var now = new Date();
    var ago = daysAgo(date, now);
    switch (style) {
      case "short":
        if (ago <= 0) return clock(date);
        if (ago < 7) return format(date, { weekday: "short" });
        return shortDate(date, now);
      case "seen":
        if (ago <= 0) return "today at " + clock(date);
        if (ago === 1) return "yesterday at " + clock(date);
        return shortDate(date, now) + " at " + clock(date);
      case "day":
        return dayLabel(date);
      default:
        return clock(date);
    }
  }

  function dayLabel(value) {
    var date = parseTime(value);
    if (!date) return "";
    var now = new Date();
    var ago = daysAgo(date, now);
    if (ago === 0) return "Today";
    if (ago === 1) return "Yesterday";
    var options = { weekday: "long", day: "numeric", month: "long" };
    if (date.getFullYear() !== now.getFullYear()) options.year = "numeric";
    return format(date, options);
  }

  function formatTimes(root) {
    var scope = root || document;
    var nodes = scope.querySelectorAll ? scope.querySelectorAll("time[data-local-time]") : [];
    Array.prototype.forEach.call(nodes, function (node) {
      var date = parseTime(node.getAttribute("datetime"));
      if (!date) return;
      var text = formatTime(date, node.getAttribute("data-local-time"));
      if (node.textContent !== text) node.textContent = text;
      var full = format(date, { dateStyle: "full", timeStyle: "short" });
      if (node.getAttribute("title") !== full) node.setAttribute("title", full);
    });
  }

  M.parseTime = parseTime;
  M.dayKey = dayKey;
  M.formatTime = formatTime;
  M.dayLabel = dayLabel;
  M.formatTimes = formatTimes;

  // Write "online" or "last seen <time>" for person ({online, last_seen}) into container.
  function writePresence(person, container) {
    while (container.firstChild) container.removeChild(container.firstChild);
    if (person.online) {
      container.appendChild(document.createTextNode("online"));
    } else if (person.last_seen) {
      var time = document.createElement("time");
      time.setAttribute("datetime", person.last_seen);
      time.setAttribute("data-local-time", "seen");
      time.textContent = formatTime(person.last_seen, "seen");
      container.appendChild(document.createTextNode("last seen "));
      container.appendChild(time);
    }
  }
  M.writePresence = writePresence;

  /* ---------------------------------------------------------------- event bus */

  var handlers = {};

  M.on = function (event, fn) {
    (handlers[event] = handlers[event] || []).push(fn);
    return function off() {
      var list = handlers[event] || [];
      var index = list.indexOf(fn);
      if (index !== -1) list.splice(index, 1);
    };
  };

  function dispatch(event) {
    var args = Array.prototype.slice.call(arguments, 1);
    (handlers[event] || []).slice().forEach(function (fn) {
      try {
        fn.apply(null, args);
      } catch (error) {
        if (window.console) window.console.error(error);
      }
    });
  }

  /* ---------------------------------------------------------------- state */

  var lastSeq = {}; // "<conversation id>" -> highest seq this page has seen
  var seen = {}; // "<conversation id>:<seq>" -> true, so each message is dispatched once
  var seenCount = 0;
  var readingFn = null;

  function readState() {
    var element = document.getElementById("conversation-state");
    if (!element) return;
    try {
      var state = JSON.parse(element.textContent || "{}") || {};
      Object.keys(state).forEach(function (key) {
        track(key, state[key]);
      });
    } catch (error) {
      /* malformed state: start empty */
    }
  }

  function track(conversationId, seq) {
    var key = String(conversationId);
    var value = parseInt(seq, 10) || 0;
    if (!(key in lastSeq) || value > lastSeq[key]) lastSeq[key] = value;
  }

  M.track = track;
  M.lastSeq = function (conversationId) {
    return lastSeq[String(conversationId)] || 0;
  };
  M.setReading = function (fn) {
    readingFn = typeof fn === "function" ? fn : null;
  };

  function isReading(conversationId) {
    try {
      return !!(readingFn && readingFn(conversationId));
    } catch (error) {
      return false;
    }
  }

  /* ---------------------------------------------------------------- unread badge & title */

  var baseTitle = document.title;
  var badges = document.querySelectorAll("[data-unread-badge]");
  var badgeLabels = document.querySelectorAll("[data-unread-sr]");
  var serverTotal = badges.length ? parseInt(badges[0].getAttribute("data-unread-count") || "0", 10) || 0 : 0;
  var unread = null; // "<conversation id>" -> unread count, once known
  var mentions = {}; // "<conversation id>" -> unread messages mentioning me (known with `unread`)
  var muted = {}; // "<conversation id>" -> true when I muted it (known with `unread`)
  var opsWhileFetching = null; // changes seen while /api/conversations is on its way
  var conversationsRequest = null;

  function total() {
    if (!unread) return serverTotal;
    return Object.keys(unread).filter(function (key) {
      return unread[key] > 0 && (!muted[key] || mentions[key] > 0);
    }).length;
  }

  function renderTotal() {
    var count = total();
    var text = count > 99 ? "99+" : String(count);
    Array.prototype.forEach.call(badges, function (badge) {
      badge.textContent = text;
      badge.setAttribute("data-unread-count", String(count));
      badge.classList.toggle("hidden", count === 0);
    });
    var label = count ? " (" + count + " unread conversation" + (count === 1 ? "" : "s") + ")" : "";
    Array.prototype.forEach.call(badgeLabels, function (node) {
      if (node.textContent !== label) node.textContent = label;
    });
    var title = count ? "(" + text + ") " + baseTitle : baseTitle;
    if (document.title !== title) document.title = title;
    return count;
  }

  function publish(key) {
    var count = renderTotal();
    dispatch("unread", {
      conversation_id: isNaN(Number(key)) ? key : Number(key),
      count: unread ? unread[key] || 0 : 0,
      mentions: mentions[key] || 0,
      muted: !!muted[key],
      total: count
    });
  }

  function applyOp(op, serverLast) {
    if (op.type === "message") {
      if (serverLast && op.seq <= (serverLast[op.key] || 0)) return; // already counted by the server
      unread[op.key] = (unread[op.key] || 0) + 1;
      if (op.mention) mentions[op.key] = (mentions[op.key] || 0) + 1;
    } else if (!serverLast || op.seq >= (serverLast[op.key] || 0)) {
      unread[op.key] = 0;
      mentions[op.key] = 0;
    }
    publish(op.key);
  }

  function change(op) {
    if (opsWhileFetching) opsWhileFetching.push(op);
    if (unread) {
      applyOp(op);
    } else {
      // We only know the total: learn which conversations are unread, then apply.
      M.fetchConversations().catch(noop);
    }
  }

  // What a conversation C (or a row standing for one) says of my unread messages and my settings.
  function learn(key, conversation) {
    unread[key] = parseInt(conversation.unread_count, 10) || 0;
    mentions[key] = parseInt(conversation.unread_mentions, 10) || 0;
    muted[key] = !!conversation.muted;
  }

  M.seedUnread = function (list, complete) {
    if (!unread || complete) unread = {};
    (list || []).forEach(function (conversation) {
      var key = String(conversation.id);
      learn(key, conversation);
      if (conversation.last_seq != null && !(key in lastSeq)) track(key, conversation.last_seq);
    });
    renderTotal();
  };

  M.unreadCount = function (conversationId) {
    return unread ? unread[String(conversationId)] || 0 : 0;
  };

  M.clearUnread = function (conversationId, seq) {
    change({ type: "read", key: String(conversationId), seq: seq || 0 });
  };

  // GET one of our JSON endpoints with the session cookie; an error status or a redirect (to the
  // login page, once signed out) rejects.
  M.getJSON = function (url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (!response.ok || response.redirected) throw new Error("unusable response");
      return response.json();
    });
  };

  M.fetchConversations = function () {
    if (conversationsRequest) return conversationsRequest;
    if (!window.fetch) return Promise.reject(new Error("unavailable"));
    opsWhileFetching = [];
    conversationsRequest = M.getJSON("/api/conversations")
      .then(function (data) {
        var list = (data && data.conversations) || [];
        var serverLast = {};
        unread = {};
        list.forEach(function (conversation) {
          var key = String(conversation.id);
          learn(key, conversation);
          serverLast[key] = parseInt(conversation.last_seq, 10) || 0;
          if (!(key in lastSeq)) track(key, serverLast[key]);
        });
        var ops = opsWhileFetching || [];
        opsWhileFetching = null;
        ops.forEach(function (op) {
          applyOp(op, serverLast);
        });
        renderTotal();
        Object.keys(unread).forEach(publish);
        return list;
      })
      .then(
        function (list) {
          conversationsRequest = null;
          return list;
        },
        function (error) {
          conversationsRequest = null;
          opsWhileFetching = null;
          throw error;
        }
      );
    return conversationsRequest;
  };

  // My settings of a conversation changed (C, from the server): muting changes what the badge
  // counts; the page's scripts hear "conversation_settings". The tab that changed them calls this
  // with its ack's C (the server tells only the other tabs).
  function settingsChanged(conversation) {
    if (!conversation || conversation.id == null) return;
    var key = String(conversation.id);
    muted[key] = !!conversation.muted;
    if (unread) publish(key);
    dispatch("conversation_settings", conversation);
  }
  M.conversationSettingsChanged = settingsChanged;

  /* ---------------------------------------------------------------- notifications */

  var notificationsSupported = "Notification" in window;

  function notify(message) {
    if (!notificationsSupported || window.Notification.permission !== "granted" || !document.hidden) return;
    var sender = message.sender || {};
    try {
      // The @username beside the name: a display name alone could be anyone's.
      var title = sender.display_name ? sender.display_name + (sender.username ? " (@" + sender.username + ")" : "") : "New message";
      var notification = new window.Notification(title, {
        body: String(message.body || "").slice(0, 100),
        tag: "messanger-" + message.conversation_id + "-" + message.seq,
        icon: sender.avatar_url || undefined
      });
      notification.addEventListener("click", function () {
        window.focus();
        notification.close();
      });
    } catch (error) {
      /* e.g. mobile browsers that only allow notifications from a service worker */
    }
  }

  function mentionsMe(message) {
    return (message.mentions || []).some(function (person) {
      return person && person.id === M.userId;
    });
  }

  // No notification for a muted conversation, unless the message mentions me. Until this page knows
  // which conversations are muted it asks (the list comes with the unread counts).
  function notifyUnlessMuted(message) {
    var key = String(message.conversation_id);
    if (mentionsMe(message)) {
      notify(message);
    } else if (unread) {
      if (!muted[key]) notify(message);
    } else {
      M.fetchConversations().then(
        function () {
          if (!muted[key]) notify(message);
        },
        function () {
          notify(message);
        }
      );
    }
  }

  function initNotificationButtons() {
    var buttons = document.querySelectorAll("[data-enable-notifications]");
    if (!buttons.length || !notificationsSupported) return;
    var status = document.querySelector("[data-notifications-status]");

    function refresh() {
      var permission = window.Notification.permission;
      Array.prototype.forEach.call(buttons, function (button) {
        button.classList.toggle("hidden", permission !== "default");
      });
      return permission;
    }

    function announce(text) {
      if (status) status.textContent = text;
    }

    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        var done = function (permission) {
          var hadFocus = document.activeElement === button;
          refresh();
          announce(
            permission === "granted"
              ? "Notifications are on."
              : permission === "denied"
                ? "Notifications are blocked. You can allow them in your browser's site settings."
                : ""
          );
          if (hadFocus && button.classList.contains("hidden")) {
            var heading = document.getElementById(button.getAttribute("data-focus-after") || "");
            if (heading) heading.focus();
          }
        };
        try {
          var result = window.Notification.requestPermission(done);
          if (result && typeof result.then === "function") result.then(done, noop);
        } catch (error) {
          announce("This browser cannot show notifications.");
        }
      });
    });
    refresh();
  }

  /* ---------------------------------------------------------------- socket */

  function receive(message, meta) {
    if (!message || message.conversation_id == null || typeof message.seq !== "number") return;
    var key = String(message.conversation_id);
    var id = key + ":" + message.seq;
    if (seen[id]) return;
    seen[id] = true;
    if (++seenCount > 20000) {
      seen = {};
      seenCount = 0;
      seen[id] = true;
    }
    track(key, message.seq);

    var fromMe = !!(message.sender && message.sender.id != null && message.sender.id === M.userId);
    if (!fromMe) {
      if (!isReading(message.conversation_id)) {
        change({ type: "message", key: key, seq: message.seq, mention: mentionsMe(message) });
      }
      if (!meta.synced) notifyUnlessMuted(message);
    }
    dispatch("message", message, meta);
  }

  var socket = null;
  var NAVIGATION_GRACE_MS = 5000;
  var RECONNECT_AFTER_MS = 1000;
  var RECONNECT_MAX_MS = 30000;
  var submittedAt = 0; // when a form last took this page elsewhere

  document.addEventListener("submit", function (event) {
    if (!event.defaultPrevented) submittedAt = Date.now(); // the chat composer prevents it: no navigation
  });

  M.socket = null;
  M.connected = false;
  M.available = false;

  // The server's words for a connection it refused for too many tabs or connections, else null.
  M.refusedWith = function (error) {
    var code = error && error.message;
    if (code !== "too_many_sockets" && code !== "too_many_connections" && code !== "rate_limited") return null;
    return (error.data && error.data.message) || "Too many connections: this tab tries again later.";
  };

  M.emitWithAck = function (event, payload, timeoutMs) {
    return new Promise(function (resolve, reject) {
      if (!socket) {
        reject(new Error("unavailable"));
        return;
      }
      if (!socket.connected) {
        reject(new Error("disconnected"));
        return;
      }
      var finished = false;
      var timer = window.setTimeout(function () {
        finish(new Error("timeout"));
      }, timeoutMs || 10000);

      function onDisconnect() {
        finish(new Error("disconnected"));
      }

      function finish(error, ack) {
        if (finished) return;
        finished = true;
        window.clearTimeout(timer);
        socket.off("disconnect", onDisconnect);
        if (error) reject(error);
        else resolve(ack);
      }

      socket.on("disconnect", onDisconnect);
      socket.emit(event, payload, function (ack) {
        finish(null, ack);
      });
    });
  };

  function syncAfter(after) {
    var collected = [];
    var keys = Object.keys(after);
    if (!keys.length) return Promise.resolve(collected);

    function round(count) {
      return M.emitWithAck("sync", { after: after }, 15000).then(function (ack) {
        if (!ack || !ack.ok) throw new Error((ack && ack.message) || "sync failed");
        var messages = ack.messages || [];
        var progressed = false;
        messages.forEach(function (message) {
          var key = String(message.conversation_id);
          collected.push(message);
          if (key in after && message.seq > after[key]) {
            after[key] = message.seq;
            progressed = true;
          }
        });
        messages.forEach(function (message) {
          receive(message, { synced: true });
        });
        if (ack.has_more && progressed && count < 100) return round(count + 1);
        return collected;
      });
    }

    return round(1);
  }

  M.sync = function (conversationId, afterSeq) {
    var after = {};
    var key = String(conversationId);
    after[key] = afterSeq != null ? parseInt(afterSeq, 10) || 0 : lastSeq[key] || 0;
    return syncAfter(after);
  };

  function syncAll() {
    var after = {};
    Object.keys(lastSeq).forEach(function (key) {
      after[key] = lastSeq[key];
    });
    return syncAfter(after).then(
      function () {
        dispatch("synced");
      },
      function () {
        dispatch("synced");
      }
    );
  }

  // Everyone whose presence I see, as they are now: news from before this socket connected never
  // reached it (asked on every connect; each person is dispatched as a "presence" event).
  function catchUpPresence() {
    M.emitWithAck("presence_snapshot", {}, 10000).then(function (ack) {
      ((ack && ack.ok && ack.people) || []).forEach(function (event) {
        if (event) dispatch("presence", event);
      });
    }, noop);
  }

  function connectSocket() {
    if (typeof window.io !== "function" || M.userId === null) return;
    // WebSocket only: a connection is one TCP stream, so workers behind a load balancer need no
    // sticky sessions (docs/deploy.md). Networks that block WebSockets get no live updates.
    socket = window.io({ transports: ["websocket"], autoConnect: false });
    M.socket = socket;
    M.available = true;

    // Socket.IO does not reconnect by its own accord after the server closed the socket or refused
    // to connect it; a stopping worker does the first, a server that cannot reach its database or
    // Redis the second. Come back after a random, growing moment, so that the tabs of a busy worker
    // do not all arrive at the same instant.
    var retries = 0;
    function reconnectLater(atLeastMs) {
      var delay = Math.min(RECONNECT_AFTER_MS * Math.pow(2, retries), RECONNECT_MAX_MS);
      retries += 1;
      // Told to wait (rate limited, too many tabs): never sooner than that, spread a little later.
      var wait = atLeastMs ? Math.max(delay, atLeastMs) * (1 + Math.random() * 0.5) : delay * (0.5 + Math.random());
      window.setTimeout(function () {
        if (!socket.connected) socket.connect();
      }, wait);
    }

    socket.on("connect", function () {
      M.connected = true;
      retries = 0;
      dispatch("connect");
      syncAll();
      catchUpPresence();
    });
    socket.on("disconnect", function (reason) {
      M.connected = false;
      dispatch("disconnect", reason);
      if (reason === "io server disconnect") reconnectLater();
    });
    socket.on("connect_error", function (error) {
      M.connected = false;
      dispatch("connect_error", error);
      // A refusal ends Socket.IO's own retries (it stays active through transport errors).
      if (socket.active || (error && error.message === "unauthorized")) return;
      var code = error && error.message;
      if (code === "too_many_sockets" || code === "too_many_connections") {
        reconnectLater(RECONNECT_MAX_MS); // another tab must close first: look again now and then
      } else if (code === "rate_limited") {
        reconnectLater(((error.data && error.data.retry_after) || 1) * 1000);
      } else {
        reconnectLater();
      }
    });
    socket.on("message", function (message) {
      receive(message, { synced: false });
    });
    // An edit, a delete or a reaction: pages replace the message they hold by its id.
    socket.on("message_updated", function (message) {
      if (message && message.id != null) dispatch("message_updated", message);
    });
    // Signed out (here or elsewhere), password changed, account gone: the reload lands on sign-in.
    // When this page's own form ended it ("Log out", deleting the account), the page is already
    // on its way elsewhere: reloading now would cancel that navigation and lose its message, so
    // reload only if the page is still here once that navigation had time to finish.
    socket.on("session_ended", function () {
      var navigating = Date.now() - submittedAt < NAVIGATION_GRACE_MS;
      window.setTimeout(function () {
        window.location.reload();
      }, navigating ? NAVIGATION_GRACE_MS : 0);
    });
    socket.on("read", function (event) {
      if (!event) return;
      if (event.user_id === M.userId) change({ type: "read", key: String(event.conversation_id), seq: event.seq || 0 });
      dispatch("read", event);
    });
    socket.on("typing", function (event) {
      if (event) dispatch("typing", event);
    });
    // I changed my settings of a conversation in another tab.
    socket.on("conversation_settings", settingsChanged);
    socket.on("presence", function (event) {
      if (event) dispatch("presence", event);
    });
  }

  readState();
  connectSocket();
  formatTimes(document);
  window.setInterval(function () {
    formatTimes(document);
  }, 60000);

  // Connect once every deferred page script has run and subscribed to the bus: DOMContentLoaded
  // fires after the last deferred script (realtime.js itself runs while the state is "interactive").
  var started = false;
  function start() {
    if (started) return;
    started = true;
    initNotificationButtons();
    if (socket) socket.connect();
  }

  if (document.readyState === "complete") {
    window.setTimeout(start, 0);
  } else {
    document.addEventListener("DOMContentLoaded", start);
    window.addEventListener("load", start);
  }
})();
