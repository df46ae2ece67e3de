import { computed, ref, type Ref } from 'vue';
import { ApiError, errorMessage } from './api';
import type SidePanel from './components/SidePanel.vue';
import { label } from './format';

/** Shown while the API's field errors stand; it goes with the last of them. */
const FIX_FIELDS = 'Fix the highlighted fields; nothing was saved.';

interface PanelFormOptions {
  panel: Ref<InstanceType<typeof SidePanel> | null>;
  /** Whether an error path has a field in the form to show it at; the others are listed at the top. */
  placed: (path: string) => boolean;
  /** API error codes that blame one field (a name already taken): that field and what to say at it. */
  conflicts?: Record<string, { field: string; message: string }>;
  /** The API's message for a field, in the form's words where they differ. */
  readable?: (path: string, message: string) => string;
}

/**
 * What a save sends: the fields `allowed` lets through that differ from how the form opened, or all
 * of them when creating. A field the caller may not change is never sent, so the API refuses nothing
 * the form did not show.
 */
export function changedFields<T extends object>(next: T, before: T, { creating, allowed }: { creating: boolean; allowed: (field: keyof T) => boolean }): Partial<T> {
  const out: Partial<T> = {};
  for (const field of Object.keys(next) as (keyof T)[]) {
    if (!allowed(field)) continue;
    if (creating || JSON.stringify(next[field]) !== JSON.stringify(before[field])) out[field] = next[field];
  }
  return out;
}

/**
 * The saving and error handling of a side-panel form: what the API refuses is shown at its fields,
 * the first of them focused, with a banner on top that lists what has no field in the form.
 */
export function usePanelForm({ panel, placed, conflicts = {}, readable = (_path, message) => message }: PanelFormOptions) {
  const errors = ref<Record<string, string>>({});
  const formError = ref('');
  const saving = ref(false);

  const err = (path: string) => errors.value[path];
  const unplaced = computed(() =>
    Object.entries(errors.value)
      .filter(([path]) => !placed(path))
      .map(([path, message]) => (path ? `${label(path)}: ${message}` : message)),
  );

  function clearErrors() {
    errors.value = {};
    formError.value = '';
  }

  function keepErrors(keep: (path: string) => boolean) {
    errors.value = Object.fromEntries(Object.entries(errors.value).filter(([path]) => keep(path)));
    if (!Object.keys(errors.value).length && formError.value === FIX_FIELDS) formError.value = '';
  }

  /** A field changed: its error no longer applies. */
  function edited(path: string) {
    if (path in errors.value) keepErrors((other) => other !== path);
  }

  /** Rows under `prefix` were added or removed: their errors, keyed by position, no longer point at the right row. */
  function restructured(prefix: string) {
    keepErrors((path) => !path.startsWith(`${prefix}.`));
  }

  /** Runs `request` (send, close the panel, tell the page); a refusal lands at the fields or in the banner. */
  async function save(request: () => Promise<void>) {
    if (saving.value) return;
    saving.value = true;
    clearErrors();
    try {
      await request();
    } catch (caught) {
      const conflict = caught instanceof ApiError && Object.hasOwn(conflicts, caught.code) ? conflicts[caught.code] : undefined;
      if (caught instanceof ApiError && caught.code === 'validation_failed') {
        errors.value = Object.fromEntries(Object.entries(caught.fieldErrors()).map(([path, message]) => [path, readable(path, message)]));
        formError.value = FIX_FIELDS;
        await panel.value?.focusFirstInvalid();
        if (unplaced.value.length) panel.value?.scrollToTop();
      } else if (conflict) {
        errors.value = { [conflict.field]: conflict.message };
        formError.value = errorMessage(caught);
        await panel.value?.focusFirstInvalid();
      } else {
        formError.value = errorMessage(caught);
        panel.value?.scrollToTop();
      }
    } finally {
      saving.value = false;
    }
  }

  return { errors, formError, saving, err, unplaced, clearErrors, edited, restructured, save };
}
