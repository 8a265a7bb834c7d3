/** A known failure with a stable code; `app.onError` turns it into `{ error: { code, message } }`. */
export class AppError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly details?: unknown;
  constructor(code: string, message: string, statusCode: number, details?: unknown) {
    super(message);
    this.code = code;
    this.statusCode = statusCode;
    this.details = details;
  }
}

export function createErrorFactory(spec: { code: string; message: string; statusCode: number }) {
  return (details?: unknown, message = spec.message) => new AppError(spec.code, message, spec.statusCode, details);
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

export const validationFailed = createErrorFactory({
  code: 'request.invalid',
  message: '请求内容无效 / The request is invalid.',
  statusCode: 400,
});
export const notAuthenticated = createErrorFactory({
  code: 'auth.required',
  message: '请先登录 / Sign in first.',
  statusCode: 401,
});
export const forbidden = createErrorFactory({
  code: 'auth.forbidden',
  message: '无权执行此操作 / You may not do this.',
  statusCode: 403,
});
export const notFound = createErrorFactory({
  code: 'not_found',
  message: '未找到 / Not found.',
  statusCode: 404,
});
/** No database connection within DATABASE_ACQUIRE_TIMEOUT_MS: try again (Twilio retries a webhook answered with it). */
export const databaseBusy = createErrorFactory({
  code: 'service.busy',
  message: '系统繁忙，请稍后重试 / The service is busy; please try again shortly.',
  statusCode: 503,
});
