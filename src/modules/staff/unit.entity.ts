import { defineEntity, p } from '@mikro-orm/core';

export const unitKinds = ['district', 'street', 'town', 'residents_committee', 'villagers_committee'] as const;
export type UnitKind = (typeof unitKinds)[number];

/** A node of the jurisdiction tree: district → street/town → residents'/villagers' committee. */
const UnitSchema = defineEntity({
  name: 'Unit',
  tableName: 'unit',
  properties: {
    id: p.uuid().primary(),
    code: p.string().length(64).unique(),
    name: p.string().length(200),
    nameEn: p.string().length(200).nullable(),
    kind: p.enum(unitKinds),
    parent: () => p.manyToOne(Unit).mapToPk().nullable().index(),
    /** Materialised path of ids, "/<root>/<child>/…/<self>/", for subtree queries with a prefix match. */
    path: p.string().length(1000).index(),
    createdAt: p.datetime(),
  },
});
export class Unit extends UnitSchema.class {}
UnitSchema.setClass(Unit);
