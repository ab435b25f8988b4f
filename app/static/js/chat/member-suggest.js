/* Members to mention, asked of GET /api/conversations/<id>/members?q=&limit= as `@` is typed:
 * debounced, one answer kept per prefix, and a longer prefix of a complete answer (fewer than the
 * limit) filtered here instead of asked again. */

/** Whether member `person` ({username, display_name}) answers the prefix `query` (lower case). */
export function memberMatches(person, query) {
  const username = (person.username || "").toLowerCase();
  const name = (person.display_name || "").toLowerCase();
  return username.startsWith(query) || name.startsWith(query) || name.split(/\s+/).some((word) => word.startsWith(query));
}

/** Answers per prefix; `get` derives one from a complete answer to a shorter prefix. Pure. */
export class PrefixCache {
  constructor(limit, maxEntries = 100) {
    this.limit = limit;
    this.maxEntries = maxEntries;
    this.entries = new Map(); // prefix -> people
  }

  get(query) {
    if (this.entries.has(query)) return this.entries.get(query);
    for (let length = query.length - 1; length >= 0; length -= 1) {
      const shorter = this.entries.get(query.slice(0, length));
      if (shorter && shorter.length < this.limit) return shorter.filter((person) => memberMatches(person, query));
    }
    return undefined;
  }

  set(query, people) {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value);
    this.entries.set(query, people);
  }
}

/** A source for the composer's suggestions: `find(query)` → a promise of members (null when a newer
 * query overtook it). */
export function createMemberSource({ url, limit = 8, delayMs = 150, fetchJson = defaultFetch }) {
  const cache = new PrefixCache(limit);
  let timer = null;
  let overtaken = null; // resolves the waiting query with null when a newer one comes

  return function find(rawQuery) {
    const query = String(rawQuery || "").toLowerCase();
    if (timer) {
      clearTimeout(timer);
      timer = null;
      overtaken(null);
    }
    const known = cache.get(query);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      overtaken = resolve;
      timer = setTimeout(() => {
        timer = null;
        const address = `${url}?q=${encodeURIComponent(query)}&limit=${limit}`;
        fetchJson(address).then(
          (data) => {
            const people = (data.members || []).filter((person) => person && person.username);
            cache.set(query, people);
            resolve(people);
          },
          () => resolve([]),
        );
      }, delayMs);
    });
  };
}

function defaultFetch(address) {
  return fetch(address, { credentials: "same-origin", headers: { Accept: "application/json" } }).then((response) => {
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  });
}
