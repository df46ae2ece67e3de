export default async function stopServices(): Promise<void> {
  const services = globalThis.__leadlineTestServices;
  if (!services) return;
  await Promise.all([services.temporal.stop(), services.postgres.stop()]);
  services.scratch.remove();
}
