import { useEffect, useState } from "react";

export const SCREENS = ["journal", "tasks", "goals", "reminders", "account", "admin"] as const;
export type Screen = (typeof SCREENS)[number];

/** The screens a user may open: "admin" only for superusers (the API answers 403 to the others). */
export function screensFor(isSuperuser: boolean): readonly Screen[] {
  return isSuperuser ? SCREENS : SCREENS.filter((name) => name !== "admin");
}

export function parseRoute(hash: string): Screen {
  const name = hash.replace(/^#\/?/, "").split("/")[0] ?? "";
  return (SCREENS as readonly string[]).includes(name) ? (name as Screen) : "journal";
}

/** Hash routes (#/journal …): the gateway serves one page at /, so no server-side routes are needed. */
export function useRoute(): Screen {
  const [screen, setScreen] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setScreen(parseRoute(location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return screen;
}

export type EmailLink = { kind: "reset-password" | "verify-email"; token: string };

/**
 * The emailed links are paths, not hash routes (services/users mails `USERS_PUBLIC_URL/reset-password?token=…`
 * and `/verify-email?token=…`; the gateway answers this page there): which one the address is, with its token.
 */
export function parseEmailLink(pathname: string, search: string): EmailLink | null {
  const kind = pathname.replace(/\/+$/, "");
  if (kind !== "/reset-password" && kind !== "/verify-email") return null;
  return { kind: kind.slice(1) as EmailLink["kind"], token: new URLSearchParams(search).get("token") ?? "" };
}
