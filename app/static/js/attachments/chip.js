/* The composer's attachment chip (server-drawn in chat/conversation.html, hidden until used):
 *   <div data-attachment-chip data-state="empty|uploading|ready">
 *     <img data-attachment-preview> <svg data-attachment-icon>
 *     <span data-attachment-chip-name> <span data-attachment-chip-size>
 *     <progress data-attachment-progress> <button data-attachment-cancel> </div>
 * Only its state, texts, progress and the preview's picture change here.
 */

/** The chip inside `form`, or null when the page has none. */
export function findChip(form) {
  const root = form.querySelector("[data-attachment-chip]");
  const progress = form.querySelector("[data-attachment-progress]");
  const cancel = form.querySelector("[data-attachment-cancel]");
  if (!root || !progress || !cancel) return null;
  const part = (selector) => root.querySelector(selector);
  const chip = {
    cancel,
    /** Hidden and empty again. */
    clear() {
      root.classList.add("hidden");
      root.setAttribute("data-state", "empty");
      progress.value = 0;
      const preview = part("[data-attachment-preview]");
      if (preview) {
        preview.removeAttribute("src");
        preview.classList.add("hidden");
      }
      const icon = part("[data-attachment-icon]");
      if (icon) icon.classList.remove("hidden");
    },
    /** A file on its way: its name, no size yet (the server's words come with its answer). */
    sending(name) {
      chip.clear();
      setText("[data-attachment-chip-name]", name);
      setText("[data-attachment-chip-size]", "");
      root.setAttribute("data-state", "uploading");
      root.classList.remove("hidden");
    },
    /** How much of it is sent (0-100). */
    progress(percent) {
      progress.value = percent;
    },
    /** Stored: the server's name and size, and a picture's thumbnail. */
    ready({ attachment, sizeText }) {
      progress.value = 100;
      root.setAttribute("data-state", "ready");
      setText("[data-attachment-chip-name]", attachment.filename);
      setText("[data-attachment-chip-size]", sizeText);
      const preview = part("[data-attachment-preview]");
      if (attachment.kind === "image" && preview && attachment.thumbnail_url) {
        preview.setAttribute("src", attachment.thumbnail_url);
        preview.setAttribute("alt", attachment.filename);
        preview.classList.remove("hidden");
        const icon = part("[data-attachment-icon]");
        if (icon) icon.classList.add("hidden");
      }
    },
  };
  function setText(selector, text) {
    const node = part(selector);
    if (node) node.textContent = text || "";
  }
  return chip;
}
