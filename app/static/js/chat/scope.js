/* What a mounted chat pane holds on to outside its own elements, released together when the pane
 * goes: bus subscriptions (the off functions realtime.on returns), listeners on document and
 * window (added with `signal`), timers and observers. Pure: no DOM. */

/** A scope: {signal, add(release), interval(fn, ms), timeout(fn, ms), observe(observer), stop(), stopped}. */
export function createScope() {
  const controller = new AbortController();
  const releases = [];

  function add(release) {
    if (typeof release !== "function") return release;
    if (controller.signal.aborted) release();
    else releases.push(release);
    return release;
  }

  return {
    signal: controller.signal,
    add,
    interval(fn, ms) {
      const id = setInterval(fn, ms);
      add(() => clearInterval(id));
      return id;
    },
    timeout(fn, ms) {
      const id = setTimeout(fn, ms);
      add(() => clearTimeout(id));
      return id;
    },
    observe(observer) {
      add(() => observer.disconnect());
      return observer;
    },
    stop() {
      if (controller.signal.aborted) return;
      controller.abort();
      for (const release of releases.splice(0).reverse()) {
        try {
          release();
        } catch (error) {
          console.error(error);
        }
      }
    },
    get stopped() {
      return controller.signal.aborted;
    },
  };
}
