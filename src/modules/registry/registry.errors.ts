import { createErrorFactory } from '../../app/errors.ts';

export const registryDuplicate = createErrorFactory({
  code: 'registry.duplicate',
  message: '该登记人已登记过此亲属 / This registrant has already registered this relative.',
  statusCode: 409,
});
export const registryInvalid = createErrorFactory({
  code: 'registry.invalid',
  message: '登记内容无效 / The registration is invalid.',
  statusCode: 422,
});
export const registryUnknownUnit = createErrorFactory({
  code: 'registry.unknown_unit',
  message: '单位不存在或不在您的管辖范围内 / The unit does not exist or is outside your units.',
  statusCode: 422,
});
export const registryUnknownStaff = createErrorFactory({
  code: 'registry.unknown_staff',
  message: '登记人账号不存在或不在您的管辖范围内 / No such staff account in your units.',
  statusCode: 422,
});
/** The whole file is refused: nothing was imported. `details.errors` says where and why. */
export const importRejected = createErrorFactory({
  code: 'registry.import_rejected',
  message: '文件无法导入，未导入任何记录 / The file cannot be imported; nothing was imported.',
  statusCode: 422,
});
export const importTooLarge = createErrorFactory({
  code: 'registry.import_too_large',
  message: '文件超过 5 MB，未导入任何记录 / The file is larger than 5 MB; nothing was imported.',
  statusCode: 413,
});
export const importUnsupportedType = createErrorFactory({
  code: 'registry.import_unsupported_type',
  message: '请以 text/csv 提交 CSV 文件 / Send the CSV file as text/csv.',
  statusCode: 415,
});
/** Another import or registration wrote the same rows meanwhile; retrying reports them as duplicates. */
export const importConflict = createErrorFactory({
  code: 'registry.import_conflict',
  message: '导入期间出现重复记录（可能有并发导入），未导入任何记录，请重试 / A duplicate appeared while importing (a concurrent import?); nothing was imported — try again.',
  statusCode: 409,
});
export const importFailed = createErrorFactory({
  code: 'registry.import_failed',
  message: '数据库写入失败，未导入任何记录 / The database failed during the import; nothing was imported.',
  statusCode: 500,
});
export const matchRecusal = createErrorFactory({
  code: 'registry.match_recusal',
  message: '登记人所在单位的人员不得查看该比对结果 / Staff of the registrant’s unit may not see this match.',
  statusCode: 403,
});
