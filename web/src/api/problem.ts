// RFC 9457 problem details as the API answers them, turned into what a form shows.
export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  status: number;
  title: string;
  detail: string;
  errors: FieldError[];
}

/** Field names as the API reports them ("title", "body.title", "encrypted.iv") → the form's name. */
export function fieldName(field: string): string {
  return field.replace(/^(body|data)\./, "");
}

export function toProblem(status: number, body: unknown): Problem {
  const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const errors = Array.isArray(record.errors)
    ? record.errors
        .filter((e): e is Record<string, unknown> => typeof e === "object" && e !== null)
        .map((e) => ({ field: fieldName(String(e.field ?? "")), message: String(e.message ?? "") }))
    : [];
  return {
    status,
    title: typeof record.title === "string" ? record.title : `HTTP ${status}`,
    detail: typeof record.detail === "string" ? record.detail : `Something went wrong (HTTP ${status}). Try again in a moment.`,
    errors,
  };
}

/** The message for one field, if the problem names it. */
export function errorFor(problem: Problem | null, field: string): string | undefined {
  return problem?.errors.find((e) => e.field === field)?.message;
}

/** The part of a problem that no field shows: the detail plus errors naming fields the form lacks. */
export function generalMessage(problem: Problem, shownFields: readonly string[]): string {
  const rest = problem.errors.filter((e) => !shownFields.includes(e.field));
  if (problem.status === 412) {
    return "Someone changed this in the meantime (another tab or device). Reload it to see the latest version, then edit again.";
  }
  return [problem.detail, ...rest.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message))].join(" ");
}

export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
    this.name = "ProblemError";
  }
}
