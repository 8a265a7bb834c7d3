import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261122000000_initial } from './Migration20261122000000_initial.ts';
import { Migration20261122010000_web_intake } from './Migration20261122010000_web_intake.ts';
import { Migration20261122020000_deadlines } from './Migration20261122020000_deadlines.ts';
import { Migration20261122030000_workflow } from './Migration20261122030000_workflow.ts';
import { Migration20261122040000_voice } from './Migration20261122040000_voice.ts';
import { Migration20261122050000_registry } from './Migration20261122050000_registry.ts';
import { Migration20261122060000_referrals } from './Migration20261122060000_referrals.ts';
import { Migration20261122070000_email } from './Migration20261122070000_email.ts';
import { Migration20261130000000_outbox_delete } from './Migration20261130000000_outbox_delete.ts';
import { Migration20261201000000_callback_notices } from './Migration20261201000000_callback_notices.ts';
import { Migration20261202000000_quarantine_ledger } from './Migration20261202000000_quarantine_ledger.ts';
import { Migration20261203000000_audit_chain } from './Migration20261203000000_audit_chain.ts';
import { Migration20261203060000_read_indexes } from './Migration20261203060000_read_indexes.ts';
import { Migration20261203090000_signed_checkpoints } from './Migration20261203090000_signed_checkpoints.ts';
import { Migration20261203100000_reporter_language } from './Migration20261203100000_reporter_language.ts';
import { Migration20261204000000_clue_exclusion } from './Migration20261204000000_clue_exclusion.ts';
import { Migration20261204100000_reporter_protection } from './Migration20261204100000_reporter_protection.ts';
import { Migration20261204200000_staff_security } from './Migration20261204200000_staff_security.ts';
import { Migration20261204300000_durable_jobs } from './Migration20261204300000_durable_jobs.ts';
import { Migration20261204400000_statistics } from './Migration20261204400000_statistics.ts';
import { Migration20261204410000_staff_name_key_index } from './Migration20261204410000_staff_name_key_index.ts';

/** Applied in order at start and by `npm run migrate`. Append new migrations; never edit one that shipped. */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261122000000_initial', class: Migration20261122000000_initial },
  { name: 'Migration20261122010000_web_intake', class: Migration20261122010000_web_intake },
  { name: 'Migration20261122020000_deadlines', class: Migration20261122020000_deadlines },
  { name: 'Migration20261122030000_workflow', class: Migration20261122030000_workflow },
  { name: 'Migration20261122040000_voice', class: Migration20261122040000_voice },
  { name: 'Migration20261122050000_registry', class: Migration20261122050000_registry },
  { name: 'Migration20261122060000_referrals', class: Migration20261122060000_referrals },
  { name: 'Migration20261122070000_email', class: Migration20261122070000_email },
  { name: 'Migration20261130000000_outbox_delete', class: Migration20261130000000_outbox_delete },
  { name: 'Migration20261201000000_callback_notices', class: Migration20261201000000_callback_notices },
  { name: 'Migration20261202000000_quarantine_ledger', class: Migration20261202000000_quarantine_ledger },
  { name: 'Migration20261203000000_audit_chain', class: Migration20261203000000_audit_chain },
  { name: 'Migration20261203060000_read_indexes', class: Migration20261203060000_read_indexes },
  { name: 'Migration20261203090000_signed_checkpoints', class: Migration20261203090000_signed_checkpoints },
  { name: 'Migration20261203100000_reporter_language', class: Migration20261203100000_reporter_language },
  { name: 'Migration20261204000000_clue_exclusion', class: Migration20261204000000_clue_exclusion },
  { name: 'Migration20261204100000_reporter_protection', class: Migration20261204100000_reporter_protection },
  { name: 'Migration20261204200000_staff_security', class: Migration20261204200000_staff_security },
  { name: 'Migration20261204300000_durable_jobs', class: Migration20261204300000_durable_jobs },
  { name: 'Migration20261204400000_statistics', class: Migration20261204400000_statistics },
  { name: 'Migration20261204410000_staff_name_key_index', class: Migration20261204410000_staff_name_key_index },
];
