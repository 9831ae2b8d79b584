/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The built explorer goes into the Python package, which serves it at `/` (olgraph.api.explorer).
const outDir = fileURLToPath(new URL("../src/olgraph/api/static/explorer", import.meta.url));

export default defineConfig({
  base: "/",
  build: {
    outDir,
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2500,
    rollupOptions: {
      onwarn(warning, warn) {
        // react-router marks its modules "use client" (for server components): meaningless in a bundle
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
    },
  },
  esbuild: { jsx: "automatic" },
  server: {
    // `npm run dev` against a local `olgraph serve`
    proxy: { "/api": "http://127.0.0.1:5000" },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
