// Building a reminder body from the form: which fields each frequency takes.
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

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

export function timeZones(): string[] {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return zones.includes("UTC") ? zones : ["UTC", ...zones];
}
