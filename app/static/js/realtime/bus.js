/* The page's event bus: modules subscribe with on(event, fn), which returns the function that
 * unsubscribes, and dispatch(event, ...args) calls every subscriber in order. A subscriber that
 * throws is reported and skipped; the others still hear the event. Pure: no DOM.
 *
 * Events of the realtime modules (see ./index.js): "message" (M, {synced}), "message_updated" (M),
 * "read", "typing", "presence", "connect", "disconnect" (reason), "connect_error" (error),
 * "synced", "conversation_settings" (C) and "unread" ({conversation_id, count, mentions, muted,
 * total}).
 */

/** A bus of its own: {on, dispatch, count}; `report` hears what a subscriber threw. */
export function createBus(report = (error) => console.error(error)) {
  const handlers = new Map();

  function on(event, fn) {
    if (!handlers.has(event)) handlers.set(event, []);
    handlers.get(event).push(fn);
    return function off() {
      const list = handlers.get(event) || [];
      const index = list.indexOf(fn);
      if (index !== -1) list.splice(index, 1);
    };
  }

  function dispatch(event, ...args) {
    for (const fn of (handlers.get(event) || []).slice()) {
      try {
        fn(...args);
      } catch (error) {
        report(error);
      }
    }
  }

  /** How many subscribe to `event` now (a chat pane that went must have left none behind). */
  function count(event) {
    return (handlers.get(event) || []).length;
  }

  return { on, dispatch, count };
}

const pageBus = createBus();

/** Subscribe to an event of this page; returns the function that unsubscribes. */
export const on = pageBus.on;

/** Tell this page's subscribers of `event`, with its arguments. */
export const dispatch = pageBus.dispatch;

/** How many of this page's modules subscribe to `event`. */
export const count = pageBus.count;
