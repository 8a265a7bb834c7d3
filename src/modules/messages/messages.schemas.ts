import { z } from 'zod';

/** The longest message on a clue's thread, from a reporter or from staff. */
export const MESSAGE_MAX = 20_000;

/** `POST /api/v1/staff/clues/:id/messages`: a staff reply on the thread. */
export const staffMessageBody = z.object({ body: z.string().trim().min(1).max(MESSAGE_MAX) });
