import { useState } from "react";
import { deriveKey } from "../lib/crypto";

interface Props {
  userId: string;
  entryKey: CryptoKey | null;
  onUnlock: (key: CryptoKey | null) => void;
}

/** The passphrase of encrypted entries: it derives the key in this tab and is never sent anywhere. */
export function Unlock({ userId, entryKey, onUnlock }: Props) {
  const [passphrase, setPassphrase] = useState("");
  const [busy, setBusy] = useState(false);

  // Not a <form>: it also sits inside the entry editor's form, and forms cannot nest.
  async function unlock() {
    if (passphrase.length < 8) return;
    setBusy(true);
    try {
      onUnlock(await deriveKey(passphrase, userId));
      setPassphrase("");
    } finally {
      setBusy(false);
    }
  }

  if (entryKey) {
    return (
      <p className="unlock">
        Encrypted entries are unlocked in this tab.{" "}
        <button type="button" className="link" onClick={() => onUnlock(null)}>
          Lock
        </button>
      </p>
    );
  }
  return (
    <div className="unlock" role="group" aria-label="Unlock encrypted entries">
      <label>
        Encryption passphrase
        <input
          type="password"
          autoComplete="off"
          value={passphrase}
          onChange={(e) => setPassphrase(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              void unlock();
            }
          }}
        />
      </label>
      <button type="button" onClick={() => void unlock()} disabled={busy || passphrase.length < 8}>
        {busy ? "Unlocking…" : "Unlock encrypted entries"}
      </button>
      <small className="hint">At least 8 characters. Entries are encrypted in this browser (AES-GCM); the server never sees the passphrase or the text.</small>
    </div>
  );
}
