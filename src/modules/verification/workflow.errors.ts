import { createErrorFactory } from '../../app/errors.ts';

export const recusalRequired = createErrorFactory({
  code: 'clue.recusal',
  message: '须回避：不能交由被举报人所在单位或其近亲属办理 / Recusal: this unit or person may not handle the clue.',
  statusCode: 409,
});
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
