import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Three surfaces, one build: the operations console (Element Plus), the WeCom sidebar and the
 * public card pages (Vant). Output goes to web/dist (or WEB_OUT_DIR) and is served by
 * src/web/static.ts under /console/, /sidebar/, /card/:memberId and /p/:id.
 */
export default defineConfig({
  root: here,
  base: '/',
  publicDir: path.join(here, 'public'),
  plugins: [vue()],
  resolve: { alias: { '@shared': path.join(here, 'shared') } },
  build: {
    outDir: process.env.WEB_OUT_DIR ? path.resolve(process.env.WEB_OUT_DIR) : path.join(here, 'dist'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2500,
    reportCompressedSize: false,
    rollupOptions: {
      input: {
        console: path.join(here, 'console/index.html'),
        sidebar: path.join(here, 'sidebar/index.html'),
        card: path.join(here, 'card/index.html'),
      },
    },
  },
});
