/* When a click opens a picture's full-size view, and what the view shows. Without the DOM. */

/** True when a click ({button, metaKey, ctrlKey, shiftKey, altKey, defaultPrevented}) on a
 * picture's link opens the overlay; with a modifier key the link opens the picture as usual. */
export function opensViewer(click) {
  if (click.defaultPrevented || click.button !== 0) return false;
  return !(click.metaKey || click.ctrlKey || click.shiftKey || click.altKey);
}

/** What the overlay shows for a link's href and data-filename: {name, href}. */
export function viewerContent(href, filename) {
  return { name: filename || "Picture", href: href || "" };
}

/** True for the key that closes the overlay. */
export function closesViewer(key) {
  return key === "Escape";
}
