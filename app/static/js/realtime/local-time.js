/* Times in the reader's time zone and language (Intl, through toLocaleString). Pure: no DOM;
 * `now` defaults to the current time and is a parameter for the tests.
 *
 * Styles of formatTime: "time" (14:05), "short" (14:05 today / Mon within a week / 21 Nov),
 * "seen" (today at 14:05 / yesterday at 14:05 / 21 Nov at 14:05) and "day" (dayLabel).
 */

const DAY_MS = 86400000;

/** A Date from an ISO 8601 string (Python's isoformat too) or a Date; null when unreadable. */
export function parseTime(value) {
  if (!value) return null;
  if (value instanceof Date) return value;
  // Python's isoformat: microseconds and possibly a space; keep milliseconds, use "T".
  const text = String(value).trim().replace(" ", "T").replace(/(\.\d{3})\d+/, "$1");
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

function pad(number) {
  return number < 10 ? "0" + number : String(number);
}

/** "YYYY-MM-DD" of the local day of `date` (for grouping messages by day). */
export function dayKey(date) {
  return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
}

/** Local calendar days from `date` to `now` (0 today, 1 yesterday; a DST day still counts one). */
export function daysAgo(date, now) {
  const a = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  const b = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  return Math.round((b - a) / DAY_MS);
}

function format(date, options) {
  try {
    return date.toLocaleString(undefined, options);
  } catch {
    return date.toLocaleString();
  }
}

function clock(date) {
  return format(date, { hour: "2-digit", minute: "2-digit" });
}

function shortDate(date, now) {
  const options = { day: "numeric", month: "short" };
  if (date.getFullYear() !== now.getFullYear()) options.year = "numeric";
  return format(date, options);
}

/** The full date and time of `date`, for a tooltip. */
export function fullTime(date) {
  return format(date, { dateStyle: "full", timeStyle: "short" });
}

/** `value` (ISO string or Date) written in `style` ("time", "short", "seen", "day"); "" if unreadable. */
export function formatTime(value, style, now = new Date()) {
  const date = parseTime(value);
  if (!date) return "";
  const ago = daysAgo(date, now);
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
      return dayLabel(date, now);
    default:
      return clock(date);
  }
}

/** The heading of a day of messages: "Today", "Yesterday", else "Monday 21 November" (+ year). */
export function dayLabel(value, now = new Date()) {
  const date = parseTime(value);
  if (!date) return "";
  const ago = daysAgo(date, now);
  if (ago === 0) return "Today";
  if (ago === 1) return "Yesterday";
  const options = { weekday: "long", day: "numeric", month: "long" };
  if (date.getFullYear() !== now.getFullYear()) options.year = "numeric";
  return format(date, options);
}
