// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { UNREACHABLE, apiFetch } from "./client";
import { ProblemError, errorFor, generalMessage, toProblem } from "./problem";

describe("problem+json", () => {
  const problem = toProblem(422, {
    type: "about:blank",
    title: "Unprocessable Entity",
    status: 422,
    detail: "Validation failed",
    errors: [
      { field: "body.title", message: "at most 200 characters" },
      { field: "rrule", message: "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY" },
    ],
  });

  it("puts each message next to the field it names", () => {
    expect(errorFor(problem, "title")).toBe("at most 200 characters");
    expect(errorFor(problem, "rrule")).toMatch(/FREQ/);
    expect(errorFor(problem, "time")).toBeUndefined();
  });

  it("shows what no field shows in the banner", () => {
    expect(generalMessage(problem, ["title"])).toBe("Validation failed rrule: FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY");
  });

  it("explains a 412 and survives a body that is not a problem", () => {
    expect(generalMessage(toProblem(412, {}), [])).toMatch(/changed this in the meantime/);
    expect(toProblem(502, "<html>")).toEqual({ status: 502, title: "HTTP 502", detail: "Something went wrong (HTTP 502). Try again in a moment.", errors: [] });
  });

  it("says the server could not be reached instead of the browser's \"Failed to fetch\"", async () => {
    const offline = () => Promise.reject(new TypeError("Failed to fetch"));
    await expect(apiFetch(new Request("http://localhost/api/v1/tasks"), offline)).rejects.toEqual(new ProblemError(UNREACHABLE));
    expect(UNREACHABLE.detail).toMatch(/could not be reached/);
  });
});
