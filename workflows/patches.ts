/**
 * Every `patched()` id of the lead workflow, named for the behaviour it brought in; the comment where
 * each is used says what runs begun before it still do. test/replay.test.ts holds that each id is in
 * a recorded history, and that the workflows call `patched()` with these ids only.
 */
export const patches = {
  databaseStepsAsLocalActivities: 'database-steps-as-local-activities',
  publishOnlyChanges: 'publish-only-changes',
  recordFirstContact: 'record-first-contact',
  assignLeadContactedBeforeAssignment: 'assign-lead-contacted-before-assignment',
  escalationDeadlineDecides: 'escalation-deadline-decides',
} as const;
