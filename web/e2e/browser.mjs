// Debian's Chromium driven by playwright-core: nothing downloads a browser.
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/**
 * Console errors and uncaught exceptions of a page, and its failed requests ("POST /path 422").
 * Chromium logs every 4xx/5xx answer as a console error; those are checked as `failed` instead,
 * against the ones a test provokes on purpose.
 */
export function watchErrors(page) {
  const errors = [];
  const failed = [];
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource: the server responded")) errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`exception: ${error.message}`));
  page.on("response", (response) => {
    if (response.status() >= 400) failed.push(`${response.request().method()} ${new URL(response.url()).pathname.replace(/[0-9a-f-]{36}/g, "{id}")} ${response.status()}`);
  });
  return { errors, failed };
}
