-- The read-path indexes as they were before Migration20261203060000_read_indexes, for measuring
-- the "before" of bench/README "staff-reads" on the same data (BENCH_CLONE_SQL, with the code of then).
drop index if exists staff_notice_unit_created_index;
drop index if exists staff_notice_unit_role_created_index;
drop index if exists staff_notice_staff_created_index;
create index if not exists staff_notice_created_index on staff_notice (unit_id, created_at desc);
drop index if exists deadline_open_due_index;
drop index if exists deadline_pending_due_index;
drop index if exists deadline_missed_due_index;
create index if not exists deadline_state_due_index on deadline (state, due_at);
drop index if exists callback_open_due_index;
drop index if exists callback_created_index;
drop index if exists clue_status_received_index;
delete from mikro_orm_migrations where name = 'Migration20261203060000_read_indexes';
analyze staff_notice, deadline, callback, clue;
