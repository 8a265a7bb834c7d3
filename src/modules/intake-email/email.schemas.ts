import { z } from 'zod';

/** The inputs of the quarantine routes (email.routes.ts). */
export const releaseBody = z.object({ narrative: z.string().trim().min(5, 'summarise what the mail reports').max(20_000) });
export const discardBody = z.object({ reason: z.string().trim().min(2).max(1000) });
