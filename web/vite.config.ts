/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The gateway serves dist/ at / (index.html revalidated, assets/ immutable: their names carry hashes).
// `npm run dev` proxies the API to a running `daybook up` (GATEWAY_URL, default http://127.0.0.1:8000).
const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, modulePreload: { polyfill: false } },
  server: { proxy: { "/api": gateway } },
  test: { environment: "node", include: ["src/**/*.test.{ts,tsx}"] },
});
