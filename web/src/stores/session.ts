import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { AppRule } from '../../../domain/ability';
import { ability } from '../ability';
import { api, ApiError } from '../api';
import type { Session, User } from '../types';

/** Who is signed in and what they may do. The session itself is the API's httpOnly cookie. */
export const useSessionStore = defineStore('session', () => {
  const user = ref<User | null>(null);
  const rules = ref<AppRule[]>([]);
  const signedIn = computed(() => user.value !== null);
  let loading: Promise<void> | null = null;

  function apply(session: Session) {
    user.value = session.user;
    rules.value = session.rules;
    ability.update(session.rules);
  }

  function clear() {
    user.value = null;
    rules.value = [];
    ability.update([]);
  }

  /** Asks the API who we are, once per page load; no session (401) is an answer, not an error. */
  function load(): Promise<void> {
    loading ??= api.me().then(apply, (error: unknown) => {
      if (error instanceof ApiError && error.status === 401) return clear();
      loading = null; // Let the next navigation try again after a network failure.
      throw error;
    });
    return loading;
  }

  async function signIn(email: string, password: string) {
    const { user: signedInUser, rules: signedInRules } = await api.login(email, password);
    apply({ user: signedInUser, rules: signedInRules });
    loading = Promise.resolve();
  }

  async function signOut() {
    // Forget the session here even when the API cannot be told; its cookie then expires on its own.
    await api.logout().catch(() => undefined);
    clear();
  }

  return { user, rules, signedIn, load, signIn, signOut, clear };
});
