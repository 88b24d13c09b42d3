import { defineConfig } from "vitest/config";

// The desktop shell loads the built files from ui/dist and, in development, the dev server
// on a fixed port.
export default defineConfig({
  clearScreen: false,
  oxc: { jsx: { runtime: "automatic" } },
  server: { port: 5173, strictPort: true },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: false },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
