// A strict client's view of the merged OpenAPI document: it reads the success fields a frontend
// uses. If a success body is documented vaguely (`{}` → `unknown`, a missing field, a wrong
// type), this file stops compiling and CI fails. Types come from `npm run generate`.
import type { operations } from "./generated/api";

type Json<Op extends keyof operations, Status extends keyof operations[Op]["responses"]> =
  operations[Op]["responses"][Status] extends { content: { "application/json": infer Body } } ? Body : never;

type ProblemOf<Op extends keyof operations, Status extends keyof operations[Op]["responses"]> =
  operations[Op]["responses"][Status] extends { content: { "application/problem+json": infer Body } } ? Body : never;

type Problem = ProblemOf<"CreateEntry", 422>;

export function describeEntry(entry: Json<"CreateEntry", 201>): string {
  const title: string | null = entry.title;
  const content: string | null = entry.content;
  const when: string = entry.entry_date;
  const tags: string[] = entry.tags.map((tag) => `${tag.name} ${tag.color}`);
  const sealed: string | undefined = entry.encrypted?.ciphertext;
  return [entry.id, entry.user_id, title ?? "", content ?? sealed ?? "", when, ...tags, entry.updated_at].join(" ");
}

export function entryPage(page: Json<"ListEntries", 200>): [number, string | null] {
  return [page.items.map(describeEntry).length, page.next_cursor];
}

export function describeTask(task: Json<"CreateTask", 201>): string {
  const status: "todo" | "in_progress" | "done" = task.status;
  const priority: "low" | "medium" | "high" = task.priority;
  const due: string | null | undefined = task.due_at;
  const done: string | null | undefined = task.completed_at;
  const tagIds: string[] = task.tag_ids;
  return [task.id, task.title, status, priority, due ?? "", done ?? "", ...tagIds].join(" ");
}

export function taskPage(page: Json<"ListTasks", 200>): string[] {
  return page.items.map(describeTask);
}

export function describeReminder(reminder: Json<"CreateReminder", 201>): string {
  const next: string | null = reminder.next_fire_at;
  const last: string | null = reminder.last_fired_at;
  const frequency: string = reminder.frequency;
  const active: boolean = reminder.is_active;
  return [reminder.id, reminder.title, reminder.message, reminder.time, reminder.timezone, frequency, next ?? "", last ?? "", String(active)].join(" ");
}

export function reminderPage(page: Json<"ListReminders", 200>): string[] {
  return page.items.map(describeReminder);
}

export function describeNotifications(page: Json<"ListNotifications", 200>): string[] {
  return page.items.map((n) => {
    const read: string | null = n.read_at;
    return [n.id, n.reminder_id, n.title, n.message, n.occurrence_at, read ?? "unread"].join(" ");
  });
}

export function session(pair: Json<"Login", 200>): { authorization: string; refresh: string; expiresIn: number } {
  const kind: string = pair.token_type;
  return { authorization: `${kind} ${pair.access_token}`, refresh: pair.refresh_token, expiresIn: pair.expires_in };
}

export function fieldErrors(problem: Problem): string[] {
  return problem.errors.map((error) => `${error.field}: ${error.message} (${problem.status} ${problem.detail})`);
}
