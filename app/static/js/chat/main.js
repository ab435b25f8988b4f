/* The chat page (templates/chat/conversation.html): wires its modules together. Every message
 * comes with its markup (M.html, the same for every reader): the list places it by seq, the
 * formatter decorates it for the reader, and a change replaces what the item holds. Sending goes
 * over the socket (../realtime/index.js); without it (or without JavaScript) the composer posts
 * the form instead and the page stays readable.
 *
 *   page.js            the page's elements and data      formatter.js     decorate fragments for me
 *   ordering.js        seqs: position, gaps, runs (pure) message-list.js  place, swap, day lines, runs
 *   scroll.js          keep the view, the pill           history.js       older/newer pages, jump to a message
 *   unread-anchor.js   open at "New messages", the jumps
 *   incoming.js        new messages, gap fill            pending-sends.js sends per client_id (pure)
 *   sending.js         bubbles being sent, retry         updates.js       edits, deletes, reactions in
 *   composer.js        the form, reply bar, file handoff read-state.js    mark read, "Seen by N"
 *   message-actions.js Reply/React/Edit/Delete routing   reactions.js     chips and the picker
 *   editor.js          edit in place                     typing-presence.js, connection-status.js
 *   action-menu.js     the one action menu (sheet)       message-focus.js the list's roving tabindex, keys
 *   long-press.js      a long-press opens the menu       keys.js          arrow-key rules (pure)
 *   scope.js           what a pane holds outside itself, released when it goes
 *
 * mountChat(container) starts the pane held in `container` and returns the function that stops it;
 * ../panes/index.js swaps panes (another chat) without a page load, over the same socket.
 */
import * as realtime from "../realtime/index.js";
import { createActionMenu } from "./action-menu.js";
import { createComposer, focusComposer } from "./composer.js";
import { showConnectionStatus } from "./connection-status.js";
import { createEditor } from "./editor.js";
import { format } from "./formatter.js";
import { createHistory } from "./history.js";
import { createIncoming } from "./incoming.js";
import { createLongPress } from "./long-press.js";
import { createMessageActions } from "./message-actions.js";
import { createMessageFocus } from "./message-focus.js";
import { createMessageList } from "./message-list.js";
import { initComposerFile } from "../attachments/composer.js";
import { initConversationSettings } from "../conversation-settings.js";
import { startPanes } from "../panes/index.js";
import { initForward } from "./forward.js";
import { announcer, readPage } from "./page.js";
import { PendingSends } from "./pending-sends.js";
import { createReactions } from "./reactions.js";
import { createReadState } from "./read-state.js";
import { createScope } from "./scope.js";
import { createScroll } from "./scroll.js";
import { createSending } from "./sending.js";
import { createTypingPresence } from "./typing-presence.js";
import { createUnreadAnchor } from "./unread-anchor.js";
import { createUpdates } from "./updates.js";

function start(page, scope) {
  const live = !!realtime.available;
  const { cid, me, root, scroller, list, form, input } = page;
  const announce = announcer(page.statusLine);

  const messages = createMessageList({ list, scroller, separatorTemplate: page.separatorTemplate, emptyState: page.emptyState, scope });
  const scroll = createScroll({ scroller, list, pill: page.pill, input, scope });
  const history = createHistory({ ...page, messages, scroll, announce });
  createReadState({
    messages,
    scroller,
    template: page.readStateTemplate,
    members: page.members,
    seen: page.seen,
    me,
    cid,
    lastRead: page.lastRead,
    live,
    atBottom: scroll.atBottom,
    scope,
    showsLatest: () => !history.hasNewer(),
  });
  const anchor = createUnreadAnchor({ ...page, messages, scroll, history, jumpButton: page.jumpUnreadButton, announce, scope });
  const typing = createTypingPresence({ ...page, scope });
  showConnectionStatus(page.connectionLine, scope);

  const pending = new PendingSends();
  const incoming = createIncoming({ cid, me, messages, scroll, pending, history, scope });
  const sending = createSending({ cid, pending, messages, scroll, incoming, template: page.pendingTemplate, input, announce, scope });
  const updates = createUpdates({ cid, messagesUrl: page.messagesUrl, messages, scroll, scope });

  // A message sent from a window that stops before the latest goes out with the latest in view.
  const send = (message) => {
    if (history.hasNewer()) history.jumpToLatest();
    return sending.send(message);
  };
  const composer =
    form && input && live
      ? createComposer({
          form,
          input,
          composerError: page.composerError,
          replyBar: page.replyBar,
          list,
          announce,
          typing,
          onSend: send,
          scope,
          cid,
          me,
          editWindowMs: page.editWindowMs,
          onEdit: (item) => editor.startEdit(item, { returnFocus: input }),
        })
      : null;
  if (composer) scope.add(composer.destroy);
  const reactions = createReactions({ list, scroller, template: page.pickerTemplate, live, act: updates.act, announce, scope });
  const editor = createEditor({ list, scroller, template: page.editorTemplate, act: updates.act, apply: updates.apply });
  const menu = createActionMenu({ dialog: page.actionMenu, live, toggleReaction: reactions.toggleReaction, announce, scope });
  createMessageFocus({ list, scroller, openMenu: menu.open, scope });
  createLongPress({ list, scroller, onLongPress: menu.open });
  createMessageActions({
    list,
    scroller,
    template: page.confirmTemplate,
    live,
    editWindowMs: page.editWindowMs,
    act: updates.act,
    announce,
    handlers: {
      reply: (item) => composer && composer.startReply(item),
      react: reactions.openPicker,
      edit: editor.startEdit,
      more: menu.open,
    },
    scope,
  });

  if (live) root.setAttribute("data-live", "true");
  format(root); // the page's first render: the same fragments, decorated for me
  messages.decorateAll();
  messages.refresh();
  history.updateButton();
  if (!anchor.open()) scroll.scrollToBottom();
  history.fillViewport();
  focusComposer(root);

  // A search result links to ?around=<seq>: bring that message into view.
  const around = new URLSearchParams(window.location.search).get("around");
  if (around) history.jumpTo(around);
}

/** Start the chat pane inside `container` (its [data-chat], templates and #chat-data); returns
 * the function that stops it (null when `container` holds no chat). */
export function mountChat(container = document) {
  const page = readPage(container);
  if (!page) return null;
  const scope = createScope();
  start(page, scope);
  if (page.form) initComposerFile(page.root, page.form);
  const dialog = container.querySelector("[data-forward-dialog]");
  if (dialog) initForward(page.root, dialog);
  const menu = page.root.querySelector("[data-conversation-settings-menu]");
  if (menu) scope.add(initConversationSettings(menu));
  return scope.stop;
}

startPanes(mountChat);
