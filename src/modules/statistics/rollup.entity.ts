import { defineEntity, p } from '@mikro-orm/core';

/**
 * The self-inspection table's per-day roll-up (rollup.ts, migration 20261205100000): for each
 * settled local day, the figures of the clues received that day and of the conclusions made that
 * day, summed per clue unit (`unitId`, null for a clue with no unit). Derived from `clue`,
 * `accused` and `clue_conclusion`, filled on read, never written by the registration.
 */
const AnnexUnitDaySchema = defineEntity({
  name: 'AnnexUnitDay',
  tableName: 'annex_unit_day',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    day: p.date().index(),
    unitId: p.uuid().nullable(),
    civilClues: p.integer(),
    civilDisposed: p.integer(),
    petitions: p.integer(),
    petitionsDisposed: p.integer(),
    renqingPeople: p.type('numeric').columnType('numeric'),
    renqingFunds: p.type('numeric').columnType('numeric'),
    guanxiPeople: p.type('numeric').columnType('numeric'),
    guanxiFunds: p.type('numeric').columnType('numeric'),
    zhengcePeople: p.type('numeric').columnType('numeric'),
    zhengceFunds: p.type('numeric').columnType('numeric'),
    sanwuPeople: p.type('numeric').columnType('numeric'),
    sanwuFunds: p.type('numeric').columnType('numeric'),
    singleFix: p.type('numeric').columnType('numeric'),
    custody: p.type('numeric').columnType('numeric'),
    untypedClues: p.integer(),
    untypedPeople: p.type('numeric').columnType('numeric'),
    untypedFunds: p.type('numeric').columnType('numeric'),
  },
});
export class AnnexUnitDay extends AnnexUnitDaySchema.class {}
AnnexUnitDaySchema.setClass(AnnexUnitDay);

/** A day the roll-up holds (with or without figures): its `annex_unit_day` rows are complete. */
const AnnexDaySchema = defineEntity({
  name: 'AnnexDay',
  tableName: 'annex_day',
  properties: {
    day: p.date().primary(),
    computedAt: p.datetime(),
  },
});
export class AnnexDay extends AnnexDaySchema.class {}
AnnexDaySchema.setClass(AnnexDay);

/**
 * The roll-up's one state row: the ledger events it has taken into account (every event of a
 * transaction below `watermark`, a snapshot's xmin at the last fill) and the time zone its days are in.
 */
const AnnexRollupSchema = defineEntity({
  name: 'AnnexRollup',
  tableName: 'annex_rollup',
  properties: {
    id: p.integer().primary().autoincrement(false),
    watermark: p.string().columnType('xid8'),
    timeZone: p.string().length(64),
    filledAt: p.datetime(),
  },
});
export class AnnexRollup extends AnnexRollupSchema.class {}
AnnexRollupSchema.setClass(AnnexRollup);

export const statisticsEntities = [AnnexUnitDay, AnnexDay, AnnexRollup];
