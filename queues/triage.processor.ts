import { type Job, UnrecoverableError } from 'bullmq';
import type { JobPayloads } from './names.ts';
import type { RegistryUseCases } from '../src/modules/registry/registry.usecases.ts';
import type { TriageUseCases } from '../src/modules/triage/triage.usecases.ts';
import type { WorkflowUseCases } from '../src/modules/verification/workflow.usecases.ts';

export interface TriageJobDeps {
  triage: Pick<TriageUseCases, 'checkNewClue'>;
  registry: Pick<RegistryUseCases, 'checkClue'>;
  workflow: Pick<WorkflowUseCases, 'ensureHomeVisit'>;
}

/** The `triage` queue (thin): a registered clue is checked for repeats, matched against the registry, and given its home visit if due. */
export async function processTriageJob(deps: TriageJobDeps, job: Job): Promise<unknown> {
  const { clueId } = job.data as JobPayloads['triage']['clue.registered'];
  if (typeof clueId !== 'string') throw new UnrecoverableError('triage job without clueId');
  const triaged = await deps.triage.checkNewClue(clueId);
  const matched = await deps.registry.checkClue(clueId);
  await deps.workflow.ensureHomeVisit(clueId);
  return { triaged, matched };
}
