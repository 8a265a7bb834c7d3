import { createErrorFactory } from '../../app/errors.ts';

export const deadlineNotFound = createErrorFactory({
  code: 'deadline.not_found',
  message: '未找到该期限 / No such deadline.',
  statusCode: 404,
});
export const deadlineClosed = createErrorFactory({
  code: 'deadline.closed',
  message: '该期限已结束 / This deadline is already closed.',
  statusCode: 409,
});
export const approvalRequired = createErrorFactory({
  code: 'deadline.approval_required',
  message: '延期须经上级（督办人员）批准 / An extension needs a supervisor’s approval.',
  statusCode: 403,
});
export const extensionNotAllowed = createErrorFactory({
  code: 'deadline.extension_not_allowed',
  message: '该期限不能再延长 / This deadline cannot be extended (again).',
  statusCode: 409,
});
export const pauseNotAllowed = createErrorFactory({
  code: 'deadline.pause_not_allowed',
  message: '该期限不允许中止计算 / This deadline’s clock cannot be paused.',
  statusCode: 409,
});
export const invalidPolicy = createErrorFactory({
  code: 'deadline.invalid_policy',
  message: '期限规则无效 / The deadline policy is invalid.',
  statusCode: 422,
});
