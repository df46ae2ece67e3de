import { describe, expect, it } from '@jest/globals';
import { AbilityBuilder, createMongoAbility } from '@casl/ability';
import { defineAbilityFor, type AppAbility } from '../domain/ability.js';
import { accessibleWhere } from './accessible.js';

const team = '00000000-0000-4000-8000-00000000000a';
const me = '00000000-0000-4000-8000-000000000001';

describe('CASL rules as a MikroORM where', () => {
  it('gives staff only the leads assigned to them', () => {
    expect(accessibleWhere(defineAbilityFor({ id: me, role: 'staff', teamId: team }), 'read', 'Lead')).toEqual({ $or: [{ assignee: me }] });
  });

  it("gives a manager their team's leads", () => {
    expect(accessibleWhere(defineAbilityFor({ id: me, role: 'manager', teamId: team }), 'read', 'Lead')).toEqual({ $or: [{ team }] });
  });

  it('gives admins and ops every lead, and nothing to change for ops', () => {
    expect(accessibleWhere(defineAbilityFor({ id: me, role: 'admin', teamId: null }), 'read', 'Lead')).toEqual({});
    expect(accessibleWhere(defineAbilityFor({ id: me, role: 'ops', teamId: null }), 'read', 'Lead')).toEqual({});
    expect(accessibleWhere(defineAbilityFor({ id: me, role: 'ops', teamId: null }), 'update', 'Lead')).toBeNull();
  });

  it('gives a manager without a team no leads at all', () => {
    expect(accessibleWhere(defineAbilityFor({ id: me, role: 'manager', teamId: null }), 'read', 'Lead')).toBeNull();
  });

  it('bounds each allowing rule by the forbidding rules above it and nests dotted fields', () => {
    const { can, cannot, build } = new AbilityBuilder<AppAbility>(createMongoAbility);
    can('read', 'Task', { team } as never);
    cannot('read', 'Task', { 'lead.status': 'lost' } as never);
    expect(accessibleWhere(build(), 'read', 'Task')).toEqual({
      $or: [{ $and: [{ team }, { $not: { lead: { status: 'lost' } } }] }],
    });
  });

  it('throws for a role it does not know', () => {
    expect(() => defineAbilityFor({ id: me, role: 'intern' as never, teamId: team })).toThrow('Unknown role: intern');
  });
});
