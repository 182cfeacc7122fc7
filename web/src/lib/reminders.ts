// Building a reminder body from the form: which fields each frequency takes.
import { formatWhen } from "./dates";

export const FREQUENCIES = {
  once: "Once",
  daily: "Every day",
  weekdays: "Weekdays (Mon–Fri)",
  weekends: "Weekends",
  weekly: "Every week (the start date's weekday)",
  monthly: "Every month (the start date's day)",
  custom: "On chosen days",
  rrule: "Recurrence rule (RFC 5545)",
} as const;
export type Frequency = keyof typeof FREQUENCIES;
export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Day = (typeof DAYS)[number];

export interface ReminderForm {
  title: string;
  message: string;
  frequency: Frequency;
  time: string;
  timezone: string;
  startDate: string;
  customDays: Day[];
  rrule: string;
}

/** When a reminder fires: what `POST /reminders/occurrences` previews, and part of a create body. */
export interface ScheduleBody {
  frequency: Frequency;
  time: string;
  timezone: string;
  start_date?: string;
  custom_days?: Day[];
  rrule?: string;
}

export interface ReminderBody extends ScheduleBody {
  title: string;
  message: string;
}

export function scheduleBody(form: ReminderForm): ScheduleBody {
  const body: ScheduleBody = { frequency: form.frequency, time: form.time, timezone: form.timezone };
  if (form.startDate) body.start_date = form.startDate;
  if (form.frequency === "custom") body.custom_days = DAYS.filter((d) => form.customDays.includes(d));
  if (form.frequency === "rrule") body.rrule = form.rrule.trim().replace(/^RRULE:/i, "");
  return body;
}

export function reminderBody(form: ReminderForm): ReminderBody {
  return { title: form.title, message: form.message, ...scheduleBody(form) };
}

/** What a saved reminder's edit form starts from (the days and rule of another frequency keep a
 * starting value, as the create form's do, for switching to that frequency). */
export function formOf(reminder: SavedReminder, defaults: Pick<ReminderForm, "customDays" | "rrule">): ReminderForm {
  return {
    title: reminder.title,
    message: reminder.message,
    frequency: reminder.frequency,
    time: reminder.time.slice(0, 5),
    timezone: reminder.timezone,
    startDate: reminder.start_date,
    customDays: reminder.custom_days ? [...reminder.custom_days] : [...defaults.customDays],
    rrule: reminder.rrule ?? defaults.rrule,
  };
}

/** The fields of a saved reminder the edit form shows (`GET /reminders/{id}`'s shape). */
export interface SavedReminder {
  title: string;
  message: string;
  frequency: Frequency;
  time: string;
  timezone: string;
  start_date: string;
  custom_days: Day[] | null;
  rrule: string | null;
}

/**
 * A reminder's occurrences in its own zone, so "at 09:00 America/New_York" is followed by 09:00 and
 * not by the browser's clock for that instant; the zone is named when it is not the browser's.
 */
export function formatOccurrences(items: readonly string[], zone: string, browserZone: string = browserTimeZone()): string {
  const text = items.map((at) => formatWhen(at, zone)).join(" · ");
  return zone === browserZone ? text : `${text} (${zone} time)`;
}

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

export function timeZones(): string[] {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return zones.includes("UTC") ? zones : ["UTC", ...zones];
}
