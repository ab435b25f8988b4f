/* The chat's typing line in words. Pure: no DOM. */

/** The typing line for these display names ("" for none). */
export function typingText(names) {
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  if (names.length > 2) {
    const others = names.length - 2;
    return `${names[0]}, ${names[1]} and ${others} other${others === 1 ? "" : "s"} are typing…`;
  }
  return "";
}
