-- Latch schema: signing keys follow a stored schedule.
--
-- A key is published from created_at and signs from activate_at until the
-- next key of its alg activates (its retirement time is that key's
-- activate_at, so it is not stored twice). Every instance picks the key
-- to sign with from this schedule by time, never by "newest", so a key is
-- announced in every JWKS before anyone signs with it.
ALTER TABLE signing_keys ADD COLUMN activate_at bigint;
-- Keys that were ever active signed from their creation (the old code
-- activated a key in the same step that created it). Keys never
-- activated keep NULL: never published, pruned after a while.
UPDATE signing_keys SET activate_at = created_at WHERE active OR retired_at IS NOT NULL;
-- Drops signing_keys_one_active with the column.
ALTER TABLE signing_keys DROP COLUMN active, DROP COLUMN retired_at;
-- One key per schedule slot: two keys of one alg never activate at the
-- same instant, so "the key active at t" is always one key.
CREATE UNIQUE INDEX signing_keys_schedule ON signing_keys (alg, activate_at);
