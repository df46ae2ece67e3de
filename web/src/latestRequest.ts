import { onBeforeUnmount, ref } from 'vue';
import { errorMessage } from './api';

/**
 * A page's data load with a spinner and an error line, where a newer request replaces an older one
 * (a filter changed while the list was loading): the older is aborted and its late answer or error is
 * dropped, so the page never shows what was asked before. Aborted when the page goes away.
 */
export function useLatestRequest() {
  const loading = ref(false);
  const error = ref('');
  let inflight: AbortController | null = null;

  async function run(request: (signal: AbortSignal) => Promise<void>) {
    inflight?.abort();
    const controller = (inflight = new AbortController());
    loading.value = true;
    error.value = '';
    try {
      await request(controller.signal);
    } catch (caught) {
      if (controller.signal.aborted) return;
      error.value = errorMessage(caught);
    } finally {
      if (inflight === controller) loading.value = false;
    }
  }

  const abort = () => inflight?.abort();
  onBeforeUnmount(abort);

  return { loading, error, run, abort };
}
