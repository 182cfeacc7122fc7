// The emails the stack's users service wrote as .eml files (no SMTP in tests), and the links in them.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** The message's text with quoted-printable and base64 bodies decoded (enough to find a link). */
function decoded(raw) {
  const texts = [raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)))];
  for (const block of raw.split(/\r?\n\r?\n/)) {
    const body = block.trim();
    if (body.length > 40 && /^[A-Za-z0-9+/=\r\n]+$/.test(body)) texts.push(Buffer.from(body.replace(/\s/g, ""), "base64").toString("utf8"));
  }
  return texts.join("\n");
}

/** The links of one kind ("verify-email" or "reset-password") mailed to `recipient`, oldest first. */
export function linksTo(mailDir, recipient, kind) {
  let names = [];
  try {
    names = readdirSync(mailDir).filter((name) => name.endsWith(".eml"));
  } catch {
    return [];
  }
  const pattern = new RegExp(`https?://[^\\s"'<>]+/${kind}\\?token=[A-Za-z0-9_.~%-]+`);
  return names
    .map((name) => join(mailDir, name))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
    .map((path) => decoded(readFileSync(path, "latin1")))
    .filter((text) => text.toLowerCase().includes(recipient.toLowerCase()))
    .map((text) => text.match(pattern)?.[0])
    .filter(Boolean);
}

/** Waits until `count` such links were mailed to `recipient`; the newest. */
export async function waitForLink(mailDir, recipient, kind, count = 1, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const links = linksTo(mailDir, recipient, kind);
    if (links.length >= count) return links[links.length - 1];
    if (Date.now() > deadline) throw new Error(`no ${kind} email #${count} to ${recipient} in ${mailDir} after ${seconds}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
