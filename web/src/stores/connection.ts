import { defineStore } from 'pinia';
import { ref } from 'vue';

/**
 * Whether Leadline is briefly away: the API did not answer, or answered 503 because a service behind
 * it is restarting. The app shows "Reconnecting…" meanwhile; the API client keeps this up to date.
 */
export const useConnectionStore = defineStore('connection', () => {
  const reconnecting = ref(false);

  function lost() {
    reconnecting.value = true;
  }

  function answered() {
    reconnecting.value = false;
  }

  return { reconnecting, lost, answered };
});
