// Jest loads global setup with Node's own loader, not its transform, so TypeScript comes in through tsx.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  // Tests provoke failures on purpose (providers down, workers killed); their warnings are not news.
  process.env.LOG_LEVEL ??= 'error';
  const { default: startServices } = await tsImport('./start-services.ts', import.meta.url);
  await startServices();
}
