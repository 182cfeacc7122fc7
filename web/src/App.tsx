import { useEffect, useState } from "react";
import { api, must, resumeSession } from "./api/client";
import type { components } from "./api/schema";
import { onSessionChange, refreshToken } from "./api/session";
import { Bell } from "./components/Bell";
import { parseEmailLink, screensFor, useRoute, type Screen } from "./lib/route";
import { Admin } from "./screens/Admin";
import { Account } from "./screens/Account";
import { EmailLinkPage } from "./screens/EmailLinks";
import { Goals } from "./screens/Goals";
import { Journal } from "./screens/Journal";
import { Reminders } from "./screens/Reminders";
import { SignIn } from "./screens/SignIn";
import { Tasks } from "./screens/Tasks";

type User = components["schemas"]["users_User"];
const LABELS: Record<Screen, string> = { journal: "Journal", tasks: "Tasks", goals: "Goals", reminders: "Reminders", account: "Account", admin: "Admin" };

export function App() {
  const [user, setUser] = useState<User | null>(null);
  const [starting, setStarting] = useState(() => refreshToken() !== null);
  const [notice, setNotice] = useState<string | null>(null);
  const [entryKey, setEntryKey] = useState<CryptoKey | null>(null);
  const screen = useRoute();
  const [emailLink] = useState(() => parseEmailLink(location.pathname, location.search));

  useEffect(() => {
    // The token is read once; keep it out of the address bar and the history.
    if (emailLink) history.replaceState(null, "", location.pathname);
  }, [emailLink]);

  useEffect(() => {
    const loadMe = async () => setUser(await must(api.GET("/api/v1/users/me")));
    const off = onSessionChange((signedIn, reason) => {
      if (signedIn) {
        setNotice(null);
        void loadMe().catch(() => setUser(null));
      } else {
        setUser(null);
        setEntryKey(null);
        setNotice(reason ?? null);
      }
    });
    if (refreshToken()) {
      void resumeSession().then((reason) => {
        if (reason) setNotice(reason);
        setStarting(false);
      });
    }
    return off;
  }, []);

  if (emailLink) return <EmailLinkPage link={emailLink} />;
  if (starting) return <p className="loading">Loading…</p>;
  if (!user) return <SignIn notice={notice} />;
  const screens = screensFor(user.is_superuser);
  const shown: Screen = screens.includes(screen) ? screen : "journal";

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Daybook</span>
        <nav aria-label="Main">
          <ul>
            {screens.map((name) => (
              <li key={name}>
                <a href={`#/${name}`} aria-current={shown === name ? "page" : undefined}>
                  {LABELS[name]}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <Bell />
      </header>
      <main id="main" tabIndex={-1}>
        {shown === "journal" && <Journal userId={user.id} entryKey={entryKey} onUnlock={setEntryKey} />}
        {shown === "tasks" && <Tasks />}
        {shown === "goals" && <Goals />}
        {shown === "reminders" && <Reminders />}
        {shown === "account" && <Account user={user} />}
        {shown === "admin" && <Admin me={user} />}
      </main>
    </>
  );
}
