import { bodyLimit } from '../../app/body-limit.ts';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import type { Csrf } from '../../app/csrf.ts';
import { validationFailed } from '../../app/errors.ts';
import type { Metrics } from '../../app/metrics.ts';
import { MAX_REQUEST_BYTES } from '../attachments/uploads.ts';
import type { ContactUseCases } from '../contact/contact.usecases.ts';
import type { StaffUseCases } from '../staff/staff.usecases.ts';
import type { FollowUpSessions } from './follow-up.session.ts';
import type { ReportUseCases } from './reports.usecases.ts';
import type { WebLimits } from './web.limits.ts';

/** What the citizen's pages (web.pages.routes.ts) and JSON API (web.api.routes.ts) are given by the roots. */
export interface WebDeps {
  config: Config;
  clock: Clock;
  reports: ReportUseCases;
  staff: StaffUseCases;
  csrf: Csrf;
  metrics: Metrics;
  contact: ContactUseCases;
  sessions: FollowUpSessions;
  /** One set for the pages and the API (web.limits.ts). */
  limits: WebLimits;
}

/** The body limit of the routes that take files (reports and follow-up messages). */
export const uploadLimit = () =>
  bodyLimit({ maxSize: MAX_REQUEST_BYTES, onError: () => { throw validationFailed({ issues: [{ path: 'files', message: 'request too large' }] }, '请求体过大 / The request body is too large.'); } });
