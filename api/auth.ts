import type { EntityManager } from '@mikro-orm/core';
import type { NextFunction, Request, Response } from 'express';
import { jwtVerify, SignJWT } from 'jose';
import { defineAbilityFor, rulesFor, type AppAbility, type AppRule } from '../domain/ability.js';
import { UserSchema, type User } from '../db/entities.js';
import { AppError } from './errors.js';

export const SESSION_COOKIE = 'leadline_session';
const SESSION_HOURS = 12;

export interface Auth {
  user: User;
  ability: AppAbility;
  rules: AppRule[];
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      auth?: Auth;
    }
  }
}

const unauthenticated = () => new AppError(401, 'unauthenticated', 'Sign in to continue');

export function authFor(user: User): Auth {
  const actor = { id: user.id, role: user.role, teamId: user.team?.id ?? null };
  return { user, ability: defineAbilityFor(actor), rules: rulesFor(actor) };
}

export function createSessions(secret: string) {
  const key = new TextEncoder().encode(secret);
  return {
    sign(user: User): Promise<string> {
      return new SignJWT({ role: user.role })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user.id)
        .setIssuedAt()
        .setExpirationTime(`${SESSION_HOURS}h`)
        .sign(key);
    },
    cookieOptions(production: boolean) {
      return { httpOnly: true, sameSite: 'lax' as const, secure: production, maxAge: SESSION_HOURS * 3_600_000, path: '/' };
    },
    /** Reads a Bearer token or the session cookie; a valid token of an inactive user is no session. */
    async authenticate(req: Request, em: EntityManager): Promise<Auth | undefined> {
      const header = req.headers.authorization;
      const token = header?.startsWith('Bearer ') ? header.slice(7) : (req.cookies?.[SESSION_COOKIE] as string | undefined);
      if (!token) return undefined;
      let subject: string | undefined;
      try {
        subject = (await jwtVerify(token, key, { algorithms: ['HS256'] })).payload.sub;
      } catch {
        return undefined;
      }
      // Outside the catch: a database that cannot be reached is an outage (503), not a signed-out caller (401).
      const user = subject ? await em.findOne(UserSchema, { id: subject, active: true }) : null;
      return user ? authFor(user) : undefined;
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;

/** The signed-in caller, or a 401. */
export function requireAuth(req: Request): Auth {
  if (!req.auth) throw unauthenticated();
  return req.auth;
}

export function sessionMiddleware(sessions: Sessions, em: () => EntityManager) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    req.auth = await sessions.authenticate(req, em());
    next();
  };
}
