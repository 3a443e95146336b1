// Vite config of the Sluice web UI. `npm run dev` proxies /api and /metrics to a running sluiced
// (SLUICE_API, default http://127.0.0.1:9123; the dev mock is web/dev/mock-server.mjs).
// The production build is run by CMake (web/CMakeLists.txt) with --outDir <build>/web.
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

const api = process.env.SLUICE_API ?? "http://127.0.0.1:9123";

export default defineConfig({
  plugins: [preact()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      "/api/ws": { target: api.replace(/^http/, "ws"), ws: true },
      "/api": { target: api },
      "/metrics": { target: api },
    },
  },
});
