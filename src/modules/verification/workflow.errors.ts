import { createErrorFactory } from '../../app/errors.ts';

/** 回避: one rule for every module (visibility module). */
export { recusalRequired } from '../visibility/visibility.ts';
export const taskNotFound = createErrorFactory({
  code: 'task.not_found',
  message: '未找到该核实任务 / No such verification task.',
  statusCode: 404,
});
export const taskClosed = createErrorFactory({
  code: 'task.closed',
  message: '该任务已结束 / This task is already closed.',
  statusCode: 409,
});
export const clueNotVerifiable = createErrorFactory({
  code: 'clue.not_verifiable',
  message: '只有已受理、正在核实的线索才能派发核实任务 / Only accepted clues under verification get tasks.',
  statusCode: 409,
});
