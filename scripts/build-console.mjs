// Builds the web console (web/ → web/dist) with Vite. `npm install` runs it (prepare); without the
// dev dependencies (npm install --omit=dev) there is no Vite, and the console is left unbuilt with a note.
import { fileURLToPath } from 'node:url';

let vite;
try {
  vite = await import('vite');
} catch {
  console.error('sesame: Vite is not installed (dev dependencies omitted), so the web console was not built; /console will say so.');
  process.exit(0);
}
await vite.build({ configFile: fileURLToPath(new URL('../web/vite.config.ts', import.meta.url)) });
console.error('sesame: web console built into web/dist');
