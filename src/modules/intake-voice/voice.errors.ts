import { createErrorFactory } from '../../app/errors.ts';

export const callbackNotFound = createErrorFactory({
  code: 'callback.not_found',
  message: '未找到该回电任务 / No such call-back.',
  statusCode: 404,
});
export const callbackClosed = createErrorFactory({
  code: 'callback.closed',
  message: '该回电任务已办结 / This call-back is already closed.',
  statusCode: 409,
});
export const callbackNoNumber = createErrorFactory({
  code: 'callback.no_number',
  message: '该回电任务没有保存号码（已办结或已清除）/ This call-back holds no number (closed or erased).',
  statusCode: 404,
});
export const twilioSignatureInvalid = createErrorFactory({
  code: 'twilio.signature_invalid',
  message: '请求签名无效 / Invalid request signature.',
  statusCode: 403,
});

/** The recording URL is not at the provider: credentials are never sent elsewhere. Not retried. */
export class RecordingUrlRefused extends Error {
  override name = 'RecordingUrlRefused';
}
