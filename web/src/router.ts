import { createRouter, createWebHistory, type LocationQueryValue } from 'vue-router';
import type { Action, SubjectName } from '../../domain/ability';
import { ability } from './ability';
import { firstValue } from './routeQuery';
import { useSessionStore } from './stores/session';

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without a session. */
    public?: boolean;
    title?: string;
    /** What the user must be able to do to open the page; others are sent to the leads list. */
    can?: [Action, SubjectName];
  }
}

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    // Home is the task inbox: what to do next. The guard sends anyone who cannot read tasks to the leads.
    { path: '/', redirect: { name: 'tasks' } },
    {
      path: '/sign-in',
      name: 'sign-in',
      component: () => import('./pages/SignInPage.vue'),
      meta: { public: true, title: 'Sign in' },
    },
    {
      path: '/tasks',
      name: 'tasks',
      component: () => import('./pages/TasksPage.vue'),
      meta: { title: 'My tasks', can: ['read', 'Task'] },
    },
    { path: '/leads', name: 'leads', component: () => import('./pages/LeadsPage.vue'), meta: { title: 'Leads' } },
    { path: '/leads/:id', name: 'lead', component: () => import('./pages/LeadPage.vue'), props: true, meta: { title: 'Lead' } },
    {
      path: '/policies',
      name: 'policies',
      component: () => import('./pages/PoliciesPage.vue'),
      meta: { title: 'Policies', can: ['read', 'Policy'] },
    },
    {
      path: '/dashboard',
      name: 'dashboard',
      component: () => import('./pages/DashboardPage.vue'),
      meta: { title: 'Dashboard', can: ['read', 'Stats'] },
    },
    {
      path: '/users',
      name: 'users',
      component: () => import('./pages/UsersPage.vue'),
      meta: { title: 'Users', can: ['read', 'Team'] },
    },
    {
      path: '/teams',
      name: 'teams',
      component: () => import('./pages/TeamsPage.vue'),
      meta: { title: 'Teams', can: ['read', 'Team'] },
    },
    {
      path: '/system',
      name: 'system',
      component: () => import('./pages/SystemPage.vue'),
      meta: { title: 'System', can: ['read', 'System'] },
    },
    { path: '/:unknown(.*)*', redirect: { name: 'leads' } },
  ],
});

/** Only paths inside the app, so `?redirect=` cannot send anyone to another site. */
export function safeRedirect(value: LocationQueryValue | LocationQueryValue[] | undefined): string {
  const path = firstValue(value);
  return path && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/sign-in') ? path : '/';
}

router.beforeEach(async (to) => {
  const session = useSessionStore();
  try {
    await session.load();
  } catch {
    // The API is unreachable: the sign-in page is the one place that can say so and retry.
    if (!to.meta.public) return { name: 'sign-in', query: { redirect: to.fullPath } };
  }
  if (to.meta.public) return session.signedIn && to.name === 'sign-in' ? safeRedirect(to.query.redirect) : true;
  if (!session.signedIn) return { name: 'sign-in', query: { redirect: to.fullPath } };
  if (to.meta.can && ability.cannot(...to.meta.can)) return { name: 'leads' };
  return true;
});

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · Leadline` : 'Leadline';
});
