// Client-side encrypted entries (Web Crypto). A passphrase the server never sees derives a
// key-encryption key (PBKDF2-SHA-256, salt = the user's id); each entry gets a fresh random AES-GCM
// data key, which encrypts {title, content} and is stored wrapped by the key-encryption key.
export interface Sealed {
  ciphertext: string;
  wrapped_key: string;
  iv: string;
  wrap_iv: string;
}

export interface Secret {
  title: string;
  content: string;
}

export const PBKDF2_ITERATIONS = 310_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function toBase64(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export async function deriveKey(passphrase: string, userId: string, iterations = PBKDF2_ITERATIONS): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(passphrase), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt: encoder.encode(`daybook-entry-key:${userId}`), iterations },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["wrapKey", "unwrapKey"],
  );
}

export async function seal(secret: Secret, keyEncryptionKey: CryptoKey): Promise<Sealed> {
  const dataKey = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const wrapIv = crypto.getRandomValues(new Uint8Array(12));
  const plaintext = encoder.encode(JSON.stringify(secret));
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, dataKey, plaintext);
  const wrapped = await crypto.subtle.wrapKey("raw", dataKey, keyEncryptionKey, { name: "AES-GCM", iv: wrapIv });
  return { ciphertext: toBase64(ciphertext), wrapped_key: toBase64(wrapped), iv: toBase64(iv), wrap_iv: toBase64(wrapIv) };
}

export class WrongPassphrase extends Error {
  constructor() {
    super("This entry cannot be opened with that passphrase.");
    this.name = "WrongPassphrase";
  }
}

export async function open(sealed: Sealed, keyEncryptionKey: CryptoKey): Promise<Secret> {
  let dataKey: CryptoKey;
  try {
    dataKey = await crypto.subtle.unwrapKey(
      "raw",
      fromBase64(sealed.wrapped_key),
      keyEncryptionKey,
      { name: "AES-GCM", iv: fromBase64(sealed.wrap_iv) },
      { name: "AES-GCM", length: 256 },
      false,
      ["decrypt"],
    );
  } catch {
    throw new WrongPassphrase();
  }
  const plaintext = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(sealed.iv) }, dataKey, fromBase64(sealed.ciphertext));
  const value = JSON.parse(decoder.decode(plaintext)) as Partial<Secret>;
  return { title: String(value.title ?? ""), content: String(value.content ?? "") };
}
