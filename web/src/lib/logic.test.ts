import { describe, expect, it } from "vitest";
import { dailyTotals } from "../components/StatsChart";
import { reorder } from "../screens/Goals";
import { elapsedSeconds } from "../screens/Practice";
import { formatWhen } from "./dates";
import { parseEmailLink, parseRoute, screensFor } from "./route";
import { formOf, formatOccurrences, reminderBody, type ReminderForm, type SavedReminder } from "./reminders";

const form: ReminderForm = {
  title: "Stretch",
  message: "",
  frequency: "daily",
  time: "08:00",
  timezone: "Europe/Berlin",
  startDate: "2026-12-04",
  customDays: ["fri", "mon"],
  rrule: "RRULE:FREQ=MONTHLY;BYDAY=-1FR ",
};

describe("reminder bodies", () => {
  it("send custom days only for custom, in week order", () => {
    expect(reminderBody(form)).toEqual({ title: "Stretch", message: "", frequency: "daily", time: "08:00", timezone: "Europe/Berlin", start_date: "2026-12-04" });
    expect(reminderBody({ ...form, frequency: "custom" }).custom_days).toEqual(["mon", "fri"]);
  });
  it("send the rule without its RRULE: prefix", () => {
    expect(reminderBody({ ...form, frequency: "rrule" }).rrule).toBe("FREQ=MONTHLY;BYDAY=-1FR");
  });
});

describe("editing a saved reminder", () => {
  const saved: SavedReminder = {
    title: "Review",
    message: "The month",
    frequency: "rrule",
    time: "17:00:00",
    timezone: "UTC",
    start_date: "2026-11-01",
    custom_days: null,
    rrule: "FREQ=MONTHLY;BYDAY=-1FR",
  };
  const defaults = { customDays: ["mon" as const], rrule: "FREQ=DAILY" };
  it("starts from the saved schedule and saves it unchanged", () => {
    const form = formOf(saved, defaults);
    expect(form.time).toBe("17:00");
    expect(reminderBody(form)).toEqual({
      title: "Review",
      message: "The month",
      frequency: "rrule",
      time: "17:00",
      timezone: "UTC",
      start_date: "2026-11-01",
      rrule: "FREQ=MONTHLY;BYDAY=-1FR",
    });
  });
  it("sends the new frequency's fields only (the server drops the old rule or days)", () => {
    const daily = reminderBody({ ...formOf(saved, defaults), frequency: "daily", time: "07:30", timezone: "Europe/Berlin" });
    expect(daily).toEqual({ title: "Review", message: "The month", frequency: "daily", time: "07:30", timezone: "Europe/Berlin", start_date: "2026-11-01" });
    const custom = formOf({ ...saved, frequency: "custom", custom_days: ["fri", "tue"], rrule: null }, defaults);
    expect(custom.rrule).toBe("FREQ=DAILY");
    expect(reminderBody(custom).custom_days).toEqual(["tue", "fri"]);
    expect(reminderBody({ ...custom, frequency: "rrule" }).rrule).toBe("FREQ=DAILY");
  });
});

describe("a reminder's occurrences", () => {
  const items = ["2026-12-07T14:00:00Z", "2026-12-08T14:00:00Z"];
  // 14:00 UTC is 09:00 in New York: shown as the wall clock of 09:00 (whatever the locale's format).
  const nineAm = (day: string) => formatWhen(`2026-12-${day}T09:00:00Z`, "UTC");
  it("are shown in the reminder's zone, named when it is not the browser's", () => {
    expect(formatOccurrences(items, "America/New_York", "Europe/Berlin")).toBe(`${nineAm("07")} · ${nineAm("08")} (America/New_York time)`);
  });
  it("name no zone when it is the browser's", () => {
    expect(formatOccurrences(items, "UTC", "UTC")).toBe(`${formatWhen(items[0], "UTC")} · ${formatWhen(items[1], "UTC")}`);
  });
});

describe("goal reordering", () => {
  const siblings = [
    { id: "a", sort_order: 0 },
    { id: "b", sort_order: 0 },
    { id: "c", sort_order: 5 },
  ];
  it("swaps with the neighbour and saves only positions that change", () => {
    // a, b, c → a, c, b: a keeps 0, c becomes 1, b becomes 2.
    expect(reorder(siblings, "c", -1)).toEqual([
      ["c", 1],
      ["b", 2],
    ]);
  });
  it("does nothing past either end", () => {
    expect(reorder(siblings, "a", -1)).toEqual([]);
    expect(reorder(siblings, "c", 1)).toEqual([]);
  });
});

describe("timers and stats", () => {
  it("count a running timer from the server's start, a stopped one from its duration", () => {
    const now = Date.parse("2026-12-04T10:00:05Z");
    expect(elapsedSeconds({ time_start: "2026-12-04T10:00:00Z", time_stop: null, duration_seconds: null }, now)).toBe(5);
    expect(elapsedSeconds({ time_start: "2026-12-04T09:00:00Z", time_stop: "2026-12-04T09:01:00Z", duration_seconds: 60 }, now)).toBe(60);
  });
  it("sum every activity per day, oldest first, with empty days", () => {
    const item = (day: string, seconds: number) => ({ activity_id: "x", bucket_start: `${day}T00:00:00Z`, sessions: 1, instances: 1, total_seconds: seconds, metrics: [] });
    const totals = dailyTotals([item("2026-12-04", 60), item("2026-12-04", 30), item("2026-12-02", 10), item("2026-11-01", 999)], 3, new Date("2026-12-04T15:00:00Z"));
    expect(totals).toEqual([
      { day: "2026-12-02", seconds: 10 },
      { day: "2026-12-03", seconds: 0 },
      { day: "2026-12-04", seconds: 90 },
    ]);
  });
});

describe("routes", () => {
  it("map the hash to a screen, the journal by default", () => {
    expect(parseRoute("#/goals")).toBe("goals");
    expect(parseRoute("#/nope")).toBe("journal");
    expect(parseRoute("")).toBe("journal");
  });
});

describe("emailed links and the admin screen", () => {
  it("read the users service's link paths and their token", () => {
    expect(parseEmailLink("/reset-password", "?token=abc-_1")).toEqual({ kind: "reset-password", token: "abc-_1" });
    expect(parseEmailLink("/verify-email/", "?token=x%2By")).toEqual({ kind: "verify-email", token: "x+y" });
    expect(parseEmailLink("/verify-email", "")).toEqual({ kind: "verify-email", token: "" });
    expect(parseEmailLink("/", "?token=abc")).toBeNull();
    expect(parseEmailLink("/reset-password/more", "?token=abc")).toBeNull();
  });

  it("show the admin screen to superusers only", () => {
    expect(parseRoute("#/admin")).toBe("admin");
    expect(screensFor(true)).toContain("admin");
    expect(screensFor(false)).not.toContain("admin");
    expect(screensFor(false)).toEqual(["journal", "tasks", "goals", "reminders", "account"]);
  });
});
