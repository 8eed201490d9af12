import { defineConfig } from "vite";

// In development the browser talks to Vite only; /api is forwarded to session-api on loopback,
// which mirrors what nginx does in the container (same origin, no CORS needed).
export default defineConfig({
  server: {
    port: 3000,
    strictPort: true,
    proxy: {
      "/api": {
        target: "http://127.0.0.1:8000",
        changeOrigin: false,
      },
    },
  },
  build: {
    // Two pages in one bundle: the voice page and the session inspector (shared modules are
    // split into common chunks).
    rollupOptions: {
      input: {
        main: "index.html",
        inspector: "inspector.html",
      },
    },
    // livekit-client alone is about 580 kB minified (160 kB gzipped); the page's own code is small.
    chunkSizeWarningLimit: 700,
  },
});
