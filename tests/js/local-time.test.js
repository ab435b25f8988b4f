// Local-time formatting in a fixed time zone with fixed dates (app/static/js/realtime/local-time.js).
process.env.TZ = "Europe/Berlin";

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { dayKey, dayLabel, daysAgo, formatTime, parseTime } from "../../app/static/js/realtime/local-time.js";

// Wednesday 15 January 2025, 14:30 in Berlin (13:30 UTC, winter time: UTC+1).
const NOW = new Date("2025-01-15T13:30:00Z");

describe("parseTime", () => {
  it("reads Python's isoformat with microseconds and a space", () => {
    const date = parseTime("2025-01-15 12:05:09.123456+00:00");
    assert.equal(date.toISOString(), "2025-01-15T12:05:09.123Z");
  });

  it("passes a Date through and refuses what is no time", () => {
    assert.equal(parseTime(NOW), NOW);
    assert.equal(parseTime(""), null);
    assert.equal(parseTime(null), null);
    assert.equal(parseTime("not a time"), null);
  });
});

describe("dayKey", () => {
  it("is the day in the reader's time zone, not in UTC", () => {
    // 23:30 UTC on the 14th is already the 15th in Berlin.
    assert.equal(dayKey(new Date("2025-01-14T23:30:00Z")), "2025-01-15");
    assert.equal(dayKey(new Date("2025-01-14T22:30:00Z")), "2025-01-14");
  });

  it("pads month and day", () => {
    assert.equal(dayKey(new Date("2025-03-05T10:00:00Z")), "2025-03-05");
  });
});

describe("daysAgo", () => {
  it("counts calendar days across the change to summer time", () => {
    // 30 March 2025 has 23 hours in Berlin.
    const before = new Date("2025-03-29T12:00:00Z");
    const after = new Date("2025-03-31T10:00:00Z");
    assert.equal(daysAgo(before, after), 2);
  });

  it("is 0 for a moment earlier the same local day", () => {
    assert.equal(daysAgo(new Date("2025-01-14T23:01:00Z"), NOW), 0);
  });
});

describe("formatTime", () => {
  it('"time" is the local hour and minute', () => {
    const text = formatTime("2025-01-15T12:05:00Z", "time", NOW);
    assert.match(text, /(13|01).05/); // 13:05 or 01:05 PM, whatever the language
  });

  it('"seen" says today, yesterday or the date', () => {
    assert.match(formatTime("2025-01-15T08:00:00Z", "seen", NOW), /^today at (09|9).00/);
    assert.match(formatTime("2025-01-14T08:00:00Z", "seen", NOW), /^yesterday at (09|9).00/);
    const older = formatTime("2025-01-02T08:00:00Z", "seen", NOW);
    assert.match(older, /\b2\b/);
    assert.match(older, / at (09|9).00/);
    assert.doesNotMatch(older, /2025/); // the same year goes unsaid
  });

  it('"short" is the time today, the weekday this week, else the date', () => {
    assert.match(formatTime("2025-01-15T07:00:00Z", "short", NOW), /(08|8).00/);
    const weekday = new Date("2025-01-13T12:00:00Z").toLocaleString(undefined, { weekday: "short" });
    assert.equal(formatTime("2025-01-13T12:00:00Z", "short", NOW), weekday);
    assert.match(formatTime("2024-12-01T12:00:00Z", "short", NOW), /2024/); // another year is said
  });

  it('"day" is the day label, and an unreadable value is ""', () => {
    assert.equal(formatTime("2025-01-15T01:00:00Z", "day", NOW), "Today");
    assert.equal(formatTime("nonsense", "time", NOW), "");
  });
});

describe("dayLabel", () => {
  it("says Today and Yesterday by the local calendar", () => {
    assert.equal(dayLabel("2025-01-14T23:30:00Z", NOW), "Today"); // the 15th in Berlin
    assert.equal(dayLabel("2025-01-14T22:30:00Z", NOW), "Yesterday");
  });

  it("names older days with their weekday, the year only when it differs", () => {
    const monday = dayLabel("2025-01-06T12:00:00Z", NOW);
    assert.match(monday, /6/);
    assert.doesNotMatch(monday, /2025/);
    assert.equal(monday, new Date("2025-01-06T12:00:00Z").toLocaleString(undefined, { weekday: "long", day: "numeric", month: "long" }));
    assert.match(dayLabel("2024-12-30T12:00:00Z", NOW), /2024/);
  });

  it('is "" for what is no time', () => {
    assert.equal(dayLabel(undefined, NOW), "");
  });
});
