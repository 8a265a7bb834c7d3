import { createErrorFactory } from '../../app/errors.ts';

export const referralNotFound = createErrorFactory({
  code: 'referral.not_found',
  message: '未找到该移交 / No such referral.',
  statusCode: 404,
});
export const linkInvalid = createErrorFactory({
  code: 'referral.link_invalid',
  message: '链接无效或已过期 / This link is invalid or has expired.',
  statusCode: 403,
});
export const noBodyFound = createErrorFactory({
  code: 'referral.no_body',
  message: '没有对被举报人有管辖权的纪检监察机关，请先配置 / No discipline body has authority over the persons reported; configure one first.',
  statusCode: 422,
});
export const notReferable = createErrorFactory({
  code: 'referral.not_referable',
  message: '只有涉及公职人员、经办人员或村（居）干部的线索需要移交 / Only clues about officials, caseworkers or committee cadres are referred.',
  statusCode: 409,
});
export const referralState = createErrorFactory({
  code: 'referral.wrong_state',
  message: '该移交当前状态下不能这样操作 / The referral is not in a state that allows this.',
  statusCode: 409,
});
export const bodyLacksAuthority = createErrorFactory({
  code: 'referral.body_lacks_authority',
  message: '该纪检监察机关对被举报人没有管辖权；如确需移交，须由主管人员说明理由 / This discipline body has no authority over the persons reported; a supervisor may override with a reason.',
  statusCode: 422,
});
export const overrideNeedsSupervisor = createErrorFactory({
  code: 'referral.override_needs_supervisor',
  message: '只有主管人员可以越过管辖权规则移交 / Only a supervisor may override the authority rule.',
  statusCode: 403,
});
export const officerSignInRequired = createErrorFactory({
  code: 'referral.sign_in_required',
  message: '请以该纪检监察机关工作人员身份登录后打开 / Sign in as an officer of this discipline body to open the referral.',
  statusCode: 403,
});
export const bodyRecused = createErrorFactory({
  code: 'referral.body_recused',
  message: '该纪检监察机关的工作人员均在本线索的回避范围内，请移交其上级机关 / Every officer of this discipline body is recused for this clue; refer it to the body above.',
  statusCode: 422,
});
