-- The keyed hash chain over the audit log (issue 11): each row written from now on stores `prev` (the hash of the
-- row before it, 64 zeros for the first chained row) and `hash` (HMAC-SHA256, under a key derived from the master
-- key, of prev and the row), both as hex. Rows written before this migration keep NULL in both and are not covered:
-- the chain starts at the first row written after it. `suat audit verify` walks the chain.
ALTER TABLE audit ADD COLUMN prev TEXT;
ALTER TABLE audit ADD COLUMN hash TEXT;
