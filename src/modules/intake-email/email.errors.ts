import { createErrorFactory } from '../../app/errors.ts';

export const quarantineNotFound = createErrorFactory({ code: 'quarantine.not_found', message: '未找到该隔离邮件 / No such quarantined mail.', statusCode: 404 });
export const quarantineResolved = createErrorFactory({ code: 'quarantine.resolved', message: '该邮件已处理 / This mail was already released or discarded.', statusCode: 409 });
