import { createErrorFactory } from '../../app/errors.ts';

export const clueNotFound = createErrorFactory({
  code: 'clue.not_found',
  message: '未找到该线索 / No such clue.',
  statusCode: 404,
});
export const illegalTransition = createErrorFactory({
  code: 'clue.illegal_transition',
  message: '当前状态下不允许此操作 / This action is not allowed in the clue’s current status.',
  statusCode: 409,
});
export const transitionRequirementMissing = createErrorFactory({
  code: 'clue.transition_requirement_missing',
  message: '此操作需要补充信息（理由、结论或合并目标）/ This action needs more input (a reason, a finding or the clue to merge into).',
  statusCode: 422,
});
export const unknownUnit = createErrorFactory({
  code: 'clue.unknown_unit',
  message: '所选单位不存在 / The chosen unit does not exist.',
  statusCode: 422,
});
export const reporterAnonymous = createErrorFactory({
  code: 'clue.reporter_anonymous',
  message: '该线索为匿名举报，没有举报人信息 / This is an anonymous report: there is no reporter identity.',
  statusCode: 404,
});
export const reporterRecusal = createErrorFactory({
  code: 'clue.reporter_recusal',
  message: '被举报人所在单位的人员不得查看举报人信息 / Staff of the accused’s unit may not see the reporter’s identity.',
  statusCode: 403,
});
export const reportNotFound = createErrorFactory({
  code: 'report.not_found',
  message: '查询码或密码不正确 / Wrong tracking code or secret.',
  statusCode: 404,
});
export const summaryIdentifiesReporter = createErrorFactory({
  code: 'clue.summary_identifies_reporter',
  message: '问题摘要不得含有可识别举报人的内容（姓名的任何部分、电话号码、身份证号、邮箱）/ The summary must carry nothing that identifies the reporter (any part of the name, a phone or ID number, an email address).',
  statusCode: 422,
});
export const accusedNotFound = createErrorFactory({
  code: 'clue.accused_not_found',
  message: '该线索没有此被举报人（或此工作人员、关联）/ No such accused person (or staff account, or link) on this clue.',
  statusCode: 404,
});
