import { Router } from 'express';
import { z } from 'zod';
import { DEMO_PASSWORD, demoUsers } from '../../db/seeders/DemoSeeder.js';
import { UserSchema } from '../../db/entities.js';
import { authFor, requireAuth, SESSION_COOKIE } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { AppError, notFound } from '../errors.js';
import { verifyPassword } from '../passwords.js';
import { userView } from '../serializers.js';

const loginBody = z.strictObject({
  email: z.string().trim().toLowerCase().email().max(254),
  password: z.string().min(1).max(200),
});

export function authRoutes({ orm, sessions, config }: RouteDeps): Router {
  const router = Router();

  router.post('/auth/login', async (req, res) => {
    const { email, password } = loginBody.parse(req.body);
    const user = await orm.em.findOne(UserSchema, { email, active: true }, { populate: ['passwordHash'] });
    // One answer for an unknown email and a wrong password, so sign-in does not reveal who has an account.
    if (!user || !(await verifyPassword(user.passwordHash, password))) {
      throw new AppError(401, 'invalid_credentials', 'Email or password is wrong');
    }
    const token = await sessions.sign(user);
    res.cookie(SESSION_COOKIE, token, sessions.cookieOptions(config.NODE_ENV === 'production'));
    res.json({ token, user: userView(user), rules: authFor(user).rules });
  });

  router.post('/auth/logout', (_req, res) => {
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.status(204).end();
  });

  /**
   * Outside production the sign-in page lists the demo accounts that exist and are active, so a
   * newcomer can sign in as each role. In production the route does not exist.
   */
  router.get('/auth/demo-accounts', async (_req, res) => {
    if (config.NODE_ENV === 'production') throw notFound('Route');
    const users = await orm.em.find(UserSchema, { email: { $in: demoUsers.map((u) => u.email) }, active: true }, { populate: ['team'] });
    const byEmail = new Map(users.map((user) => [user.email, user]));
    const accounts = demoUsers.flatMap(({ email }) => {
      const user = byEmail.get(email);
      return user ? [{ email, name: user.name, role: user.role, team: user.team?.name ?? null }] : [];
    });
    res.json({ password: accounts.length ? DEMO_PASSWORD : null, accounts });
  });

  router.get('/me', (req, res) => {
    const { user, rules } = requireAuth(req);
    res.json({ user: userView(user), rules });
  });

  return router;
}

/** The request schemas of these routes, for the OpenAPI document. */
export const authSchemas = { loginBody };
