/* The home page's part of the panes: the conversation switcher (Ctrl/Cmd+K) opens a chat's page. */
import { startSwitcher } from "./switcher.js";

startSwitcher((url) => window.location.assign(url));
