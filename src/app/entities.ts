import { Accused, Attachment, Clue, SealedReporter } from '../modules/clues/clue.entity.ts';
import { LedgerCheckpoint, LedgerEvent } from '../modules/clues/ledger.entity.ts';
import { OutboxMessage } from '../modules/outbox/outbox.entity.ts';
import { Staff, StaffSession } from '../modules/staff/staff.entity.ts';
import { Unit } from '../modules/staff/unit.entity.ts';

export const entities = [
  Unit,
  Staff,
  StaffSession,
  Clue,
  Accused,
  SealedReporter,
  Attachment,
  LedgerEvent,
  LedgerCheckpoint,
  OutboxMessage,
];
