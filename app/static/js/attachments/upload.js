/* One upload: the file POSTed with XMLHttpRequest (multipart field "file", CSRF in X-CSRFToken),
 * which reports progress, unlike fetch, and can be cancelled. */
import { OFFLINE, parseBody, refusalText, sendingPercent, storedFrom, uploadName } from "./rules.js";

/**
 * Send `file` to `url`. onProgress(percent) while it is sent; onStored({attachment, html, sizeText})
 * or onRefused(words) once, unless cancelled first. Returns cancel(), after which nothing is called.
 */
export function upload(url, file, { token, tooLarge, onProgress, onStored, onRefused }) {
  const xhr = new XMLHttpRequest();
  let live = true;
  const data = new FormData();
  data.append("file", file, uploadName(file));
  xhr.open("POST", url);
  xhr.setRequestHeader("X-CSRFToken", token || "");
  xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.onprogress = (event) => {
    const percent = live && event.lengthComputable ? sendingPercent(event.loaded, event.total) : null;
    if (percent != null) onProgress(percent);
  };
  xhr.onload = () => {
    if (!live) return;
    live = false;
    const body = parseBody(xhr.responseText);
    const stored = storedFrom(xhr.status, body);
    if (stored) onStored(stored);
    else onRefused(refusalText(xhr.status, body, tooLarge));
  };
  xhr.onerror = () => {
    if (!live) return;
    live = false;
    onRefused(OFFLINE);
  };
  xhr.send(data);
  return function cancel() {
    if (!live) return;
    live = false;
    xhr.abort();
  };
}
