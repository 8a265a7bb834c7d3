import { Hono } from 'hono';
import { idParam, readJson } from '../../app/http.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { AppEnv } from '../staff/http-env.ts';
import { clueNotFound } from '../clues/clues.errors.ts';
import { taskNotFound } from './workflow.errors.ts';
import type { WorkflowUseCases } from './workflow.usecases.ts';
import { assignBody, completeBody, superviseBody, taskBody, triageBody } from './workflow.schemas.ts';

export function workflowRoutes(workflow: WorkflowUseCases, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  const tag = 'workflow';
  const clueId = (raw: string) => idParam(raw, clueNotFound);

  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/triage', summary: 'Set categories and priority (major: media exposure, a leader’s instruction, several reporters)', tag, auth: 'staff', body: triageBody, responses: { 200: 'Triaged' } });
  app.post('/clues/:id/triage', async (c) => c.json(await workflow.triage({ ctx: c.get('ctx')!, input: { clueId: clueId(c.req.param('id')), ...(await readJson(c, triageBody)) } })));

  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/assign', summary: 'Assign the clue to a unit (转办); a unit in the excluded set (an accused’s unit or below) is refused (回避) and the nearest unit above offered', tag, auth: 'staff', body: assignBody, responses: { 200: 'Assigned', 403: 'Recusal (clue.recusal): see error.details.suggestedUnitId' } });
  app.post('/clues/:id/assign', async (c) => c.json(await workflow.assign({ ctx: c.get('ctx')!, input: { clueId: clueId(c.req.param('id')), unitId: (await readJson(c, assignBody)).unitId } })));

  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/supervise', summary: 'Special supervision (督办): attach a supervisor, who is told of every later event', tag, auth: 'staff', body: superviseBody, responses: { 200: 'Supervised', 403: 'Not a supervisor' } });
  app.post('/clues/:id/supervise', async (c) => c.json(await workflow.supervise({ ctx: c.get('ctx')!, input: { clueId: clueId(c.req.param('id')), supervisorId: (await readJson(c, superviseBody)).supervisorId } })));

  docs.add({ method: 'get', path: '/api/v1/staff/clues/:id/tasks', summary: 'The clue’s verification tasks', tag, auth: 'staff', responses: { 200: 'Tasks' } });
  app.get('/clues/:id/tasks', async (c) => c.json({ items: await workflow.listTasks({ ctx: c.get('ctx')!, input: { clueId: clueId(c.req.param('id')) } }) }));

  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/tasks', summary: 'Give a verification task (home visit, data cross-check, community review, payment check, interview) to a unit', tag, auth: 'staff', body: taskBody, responses: { 201: 'Created, with its due date', 403: 'Recusal (clue.recusal)', 409: 'The clue is not under verification' } });
  app.post('/clues/:id/tasks', async (c) => c.json(await workflow.createTask({ ctx: c.get('ctx')!, input: { clueId: clueId(c.req.param('id')), ...(await readJson(c, taskBody)) } }), 201));

  docs.add({ method: 'post', path: '/api/v1/staff/tasks/:id/complete', summary: 'Report a task’s findings, checklist and figures', tag, auth: 'staff', body: completeBody, responses: { 200: 'Completed; says whether every task of the clue is done', 409: 'Already closed' } });
  app.post('/tasks/:id/complete', async (c) => {
    return c.json(await workflow.completeTask({ ctx: c.get('ctx')!, input: { taskId: idParam(c.req.param('id'), taskNotFound), ...(await readJson(c, completeBody)) } }));
  });

  return app;
}
