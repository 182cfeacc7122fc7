import { describe, expect, it } from "vitest";
import { deriveKey, fromBase64, open, seal, toBase64, WrongPassphrase } from "./crypto";

const USER = "018f3c4e-0000-7000-8000-000000000001";

describe("encrypted entries", () => {
  it("seal then open gives the text back, and the sealed form holds none of it", async () => {
    const key = await deriveKey("a long passphrase", USER, 1000);
    const sealed = await seal({ title: "Secret plans", content: "Only I can read this." }, key);
    expect(JSON.stringify(sealed)).not.toContain("Secret");
    expect(fromBase64(sealed.iv)).toHaveLength(12);
    expect(await open(sealed, key)).toEqual({ title: "Secret plans", content: "Only I can read this." });
  });

  it("each entry gets its own data key and IVs", async () => {
    const key = await deriveKey("a long passphrase", USER, 1000);
    const [a, b] = [await seal({ title: "", content: "same" }, key), await seal({ title: "", content: "same" }, key)];
    expect(a.ciphertext).not.toEqual(b.ciphertext);
    expect(a.wrapped_key).not.toEqual(b.wrapped_key);
  });

  it("a wrong passphrase, or another user's salt, cannot open it", async () => {
    const sealed = await seal({ title: "t", content: "c" }, await deriveKey("a long passphrase", USER, 1000));
    await expect(open(sealed, await deriveKey("another passphrase", USER, 1000))).rejects.toBeInstanceOf(WrongPassphrase);
    await expect(open(sealed, await deriveKey("a long passphrase", "someone-else", 1000))).rejects.toBeInstanceOf(WrongPassphrase);
  });

  it("base64 round-trips every byte value", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromBase64(toBase64(bytes))).toEqual(bytes);
  });
});
