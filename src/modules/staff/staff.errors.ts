import { createErrorFactory } from '../../app/errors.ts';

export const invalidCredentials = createErrorFactory({
  code: 'auth.invalid_credentials',
  message: '用户名或密码错误 / Wrong username or password.',
  statusCode: 401,
});
export const unitNotFound = createErrorFactory({
  code: 'unit.not_found',
  message: '单位不存在 / No such unit.',
  statusCode: 404,
});
export const unitInvalidParent = createErrorFactory({
  code: 'unit.invalid_parent',
  message: '上级单位不符合层级要求 / The parent unit does not fit the unit tree (district → street/town → committee).',
  statusCode: 422,
});
export const unitCodeTaken = createErrorFactory({
  code: 'unit.code_taken',
  message: '单位编码已被使用 / The unit code is already in use.',
  statusCode: 409,
});
export const usernameTaken = createErrorFactory({
  code: 'staff.username_taken',
  message: '用户名已被使用 / The username is already in use.',
  statusCode: 409,
});
export const staffNotFound = createErrorFactory({
  code: 'staff.not_found',
  message: '未找到该工作人员账号 / No such staff account.',
  statusCode: 404,
});
