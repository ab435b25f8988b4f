/* Attachments on the chat page: the composer's file (./composer.js) and a picture's full-size
 * view (./viewer.js). The attachment block inside a message is the server's
 * (chat/_attachment.html, in M.html). The composer's file is wired per chat pane by ../chat/main.js. */
import { initViewer } from "./viewer.js";

initViewer();
