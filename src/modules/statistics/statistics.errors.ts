import { createErrorFactory } from '../../app/errors.ts';

export const statisticsUnitNotFound = createErrorFactory({
  code: 'statistics.unit_not_found',
  message: '未找到该单位，或不在您的管辖范围内 / No such unit within your units.',
  statusCode: 404,
});
export const periodInvalid = createErrorFactory({
  code: 'statistics.period_invalid',
  message: '统计期间无效：起始日期不得晚于截止日期，且不超过 5 年 / Invalid period: the start must not be after the end, and it may span at most 5 years.',
  statusCode: 400,
});
