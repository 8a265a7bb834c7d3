/** Why an uploaded file was refused. The policy layer turns these into zh-CN + English messages. */
export type AttachmentRejectReason = 'too_large' | 'type_not_allowed' | 'corrupt_image' | 'empty';

/**
 * Thrown by the parsers in this module for input they will not process. Every parser throws this (and only this)
 * for malformed input, so callers can catch it without also swallowing programming errors.
 */
export class AttachmentRejected extends Error {
  readonly reason: AttachmentRejectReason;
  /** A finer, log-friendly cause, e.g. 'heic_metadata' or 'jpeg_truncated'. Never shown to the reporter. */
  readonly detail: string;

  constructor(reason: AttachmentRejectReason, detail: string) {
    super(`attachment rejected: ${reason} (${detail})`);
    this.name = 'AttachmentRejected';
    this.reason = reason;
    this.detail = detail;
  }
}

export type AttachmentStorageErrorCode = 'invalid_key' | 'not_found' | 'integrity';

/** Thrown by `AttachmentStorage` implementations: a malformed/escaping key, a missing file, or content that no longer matches its hash. */
export class AttachmentStorageError extends Error {
  readonly code: AttachmentStorageErrorCode;

  constructor(code: AttachmentStorageErrorCode, message: string) {
    super(message);
    this.name = 'AttachmentStorageError';
    this.code = code;
  }
}
