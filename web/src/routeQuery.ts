import { computed, onBeforeUnmount, ref, watch, type ComputedRef } from 'vue';
import { useRoute, useRouter, type LocationQueryValue } from 'vue-router';

const SEARCH_DELAY_MS = 300;

/** A query parameter as one string: the first of repeated ones (`?a=1&a=2` is '1'), '' when absent. */
export function firstValue(value: LocationQueryValue | LocationQueryValue[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/**
 * A page's state kept in the URL's query (filters, paging, a choice), so a reload, back and forward,
 * and a shared link show the same screen.
 */
export function useRouteQuery() {
  const route = useRoute();
  const router = useRouter();

  /** One parameter, '' when absent or when `valid` refuses it (a hand-edited link is no filter at all). */
  const param = (key: string, valid?: (value: string) => boolean): ComputedRef<string> =>
    computed(() => {
      const value = firstValue(route.query[key]);
      return !valid || valid(value) ? value : '';
    });

  /**
   * Merges `changes` into the query; an empty or undefined value drops its parameter, so defaults keep
   * the URL short. It replaces the history entry: a filter is not a place to go back to.
   */
  function setQuery(changes: Record<string, string | undefined>) {
    const query = { ...route.query, ...changes };
    for (const key of Object.keys(query)) if (!query[key]) delete query[key];
    void router.replace({ query });
  }

  /** `?page=`, 1 when absent or not a number. */
  const page = computed(() => Math.max(1, Number.parseInt(firstValue(route.query.page), 10) || 1));
  const goToPage = (n: number) => setQuery({ page: n > 1 ? String(n) : undefined });
  /** A filter changed: the old page number means nothing in the new list. */
  const setFilter = (changes: Record<string, string | undefined>) => setQuery({ ...changes, page: undefined });

  /**
   * A search box for `?key=`: the URL follows what is typed after a pause (or at once with `applySearch`),
   * and the box follows the URL on back and forward.
   */
  function searchParam(key: string) {
    const value = param(key);
    const search = ref(value.value);
    let timer: number | undefined;
    const cancelSearch = () => window.clearTimeout(timer);
    function applySearch() {
      cancelSearch();
      if (search.value.trim() !== value.value) setFilter({ [key]: search.value.trim() || undefined });
    }
    watch(search, () => {
      cancelSearch();
      timer = window.setTimeout(applySearch, SEARCH_DELAY_MS);
    });
    watch(value, (next) => {
      if (next !== search.value.trim()) search.value = next;
    });
    onBeforeUnmount(cancelSearch);
    return { value, search, applySearch, cancelSearch };
  }

  return { param, setQuery, page, goToPage, setFilter, searchParam };
}
