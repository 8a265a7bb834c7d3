import { type DbConfig, openOrm, type Orm } from '../app/db.ts';
import type { Logger } from '../app/logger.ts';
import { entities } from './entities.ts';

/** The application's database: every feature's entities (src/roots/entities.ts) on the configured database. */
export function createOrm(config: DbConfig, logger: Logger): Promise<Orm> {
  return openOrm(config, logger, entities);
}
