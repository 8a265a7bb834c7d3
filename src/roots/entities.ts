import { Accused, Attachment, Clue, ClueConclusion, IntakeKey, SealedReporter } from '../modules/clues/clue.entity.ts';
import { QuarantinedMail } from '../modules/intake-email/email.entity.ts';
import { AuditChain, LedgerAlert, LedgerCheckpoint, LedgerEvent } from '../modules/clues/ledger.entity.ts';
import { Deadline, DeadlinePolicyVersion, StaffNotice } from '../modules/deadlines/deadline.entity.ts';
import { hotlineEntities } from '../modules/intake-voice/voice.entity.ts';
import { VerificationTask } from '../modules/verification/task.entity.ts';
import { DisciplineBody, Referral } from '../modules/referrals/referral.entity.ts';
import { Message } from '../modules/messages/message.entity.ts';
import { Notification } from '../modules/notifications/notification.entity.ts';
import { OutboxMessage } from '../modules/outbox/outbox.entity.ts';
import { NearRelative, RegistryAudit } from '../modules/registry/registry.entity.ts';
import { Staff, StaffSession } from '../modules/staff/staff.entity.ts';
import { statisticsEntities } from '../modules/statistics/rollup.entity.ts';
import { Unit } from '../modules/staff/unit.entity.ts';
import { AccusedLink, ClueExclusion } from '../modules/visibility/exclusion.entity.ts';

export const entities = [
  Unit,
  Staff,
  StaffSession,
  Clue,
  Accused,
  SealedReporter,
  Attachment,
  ClueConclusion,
  LedgerEvent,
  LedgerCheckpoint,
  AuditChain,
  LedgerAlert,
  OutboxMessage,
  Message,
  Notification,
  Deadline,
  DeadlinePolicyVersion,
  StaffNotice,
  VerificationTask,
  NearRelative,
  RegistryAudit,
  DisciplineBody,
  Referral,
  IntakeKey,
  QuarantinedMail,
  ClueExclusion,
  AccusedLink,
  ...hotlineEntities,
  ...statisticsEntities,
];
