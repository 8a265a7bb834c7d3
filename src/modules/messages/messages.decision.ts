import { randomUUID } from 'node:crypto';
import type { Em } from '../../app/db.ts';
import type { Clue } from '../clues/clue.entity.ts';
import type { TellReporterOfDecision } from '../clues/clues.ports.ts';
import { appendEvent } from '../clues/ledger.ts';
import { declineReasons } from '../clues/status-machine.ts';
import { enqueueInTransaction } from '../outbox/outbox.ts';
import type { Principal } from '../staff/access.ts';
import { Message } from './message.entity.ts';
import { automaticMessage } from './messages.automatic.ts';

/**
 * The reporter is told of acceptance or refusal through their channel: a message on the
 * follow-up thread (web, email and anonymous reporters all see it there) and, for a named
 * reporter with an email address, an email sent by the notifications job. Runs in the
 * transition's transaction (clues.usecases.ts calls it through its deps; the roots pass it).
 */
export const tellReporterOfDecision: TellReporterOfDecision = (tx: Em, clue: Clue, input, principal: Principal, now: Date) => {
  const reason = input.reasonCode ? declineReasons[input.reasonCode] : null;
  // In every language; the reporter reads theirs (Message.localized).
  const text =
    input.action === 'accept'
      ? automaticMessage('decision-accepted', () => ({}))
      : automaticMessage('decision-declined', (l) => ({ reason: l === 'en' ? reason!.en : reason!.zh, explanation: input.reason ?? '' }));
  const message = tx.create(Message, { id: randomUUID(), clue: clue.id, author: 'staff', staffId: principal.id, ...text, createdAt: now });
  appendEvent(tx, clue, { type: 'message.posted', actor: `staff:${principal.id}`, data: { messageId: message.id, author: 'staff', reason: `decision:${input.action}` } }, now);
  if (clue.named) {
    enqueueInTransaction(tx, now, {
      queue: 'notifications',
      name: 'email.reporter_decision',
      jobId: `decision-${clue.id}-${clue.headSeq}`,
      payload: { clueId: clue.id, messageId: message.id },
    });
  }
};
