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
export const totpRequired = createErrorFactory({
  code: 'auth.totp_required',
  message: '请输入身份验证器中的动态验证码 / Enter the code from your authenticator app (field `totp`).',
  statusCode: 401,
});
export const totpInvalid = createErrorFactory({
  code: 'auth.totp_invalid',
  message: '动态验证码或恢复码不正确 / Wrong authenticator or recovery code.',
  statusCode: 401,
});
export const totpAlreadyEnabled = createErrorFactory({
  code: 'auth.totp_enabled',
  message: '已启用双重验证；如需更换，请管理员重置 / Two-factor sign-in is already on; an admin can reset it.',
  statusCode: 409,
});
export const totpNotStarted = createErrorFactory({
  code: 'auth.totp_not_started',
  message: '请先开始绑定身份验证器 / Start enrolment first (POST /api/v1/staff/me/totp).',
  statusCode: 409,
});
export const totpEnrolmentNeeded = createErrorFactory({
  code: 'auth.totp_enrolment_required',
  message: '请先启用双重验证（身份验证器）后再使用 / Set up two-factor sign-in (an authenticator app) before anything else.',
  statusCode: 403,
});
export const staffNotFound = createErrorFactory({
  code: 'staff.not_found',
  message: '账号不存在 / No such staff account.',
  statusCode: 404,
});
