import vue from '@vitejs/plugin-vue';
import { defineConfig, type Plugin } from 'vite';

const root = import.meta.dirname;
const api = 'http://localhost:3000';

/**
 * @casl/vue 2.2.6, the newest release on npm, imports `PureAbility`, which @casl/ability 7 renamed to
 * `Ability` (the class `createMongoAbility` returns). Only @casl/vue's import is redirected, to a
 * module that adds the old name back; drop this once a @casl/vue release for CASL 7 is installed.
 */
function caslVueCompat(): Plugin {
  const id = '\0leadline:casl-ability-compat';
  return {
    name: 'leadline:casl-vue-compat',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source === '@casl/ability' && importer?.replaceAll('\\', '/').includes('/@casl/vue/')) return id;
      return null;
    },
    load(loading) {
      if (loading !== id) return null;
      return "export * from '@casl/ability';\nexport { Ability as PureAbility } from '@casl/ability';\n";
    },
  };
}

export default defineConfig({
  root,
  plugins: [caslVueCompat(), vue()],
  build: {
    outDir: `${root}/dist`,
    emptyOutDir: true,
  },
  // Served unbundled in dev, so its `@casl/ability` import goes through the compat plugin above.
  optimizeDeps: { exclude: ['@casl/vue'] },
  server: {
    // The dev server serves the app; the API (npm start or npm run api) answers on :3000.
    proxy: {
      '/api': api,
      '/healthz': api,
    },
  },
});
