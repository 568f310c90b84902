-- Seed 001: an app's status (throttled, disabled and deleted apps stop working); seed 000: when the app last generated
-- a token through an app-scoped id (the 90-day rule); seed 002: child businesses. Existing apps are active and have
-- never made that call; existing businesses have no parent.
ALTER TABLE apps ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'throttled', 'disabled', 'deleted'));
ALTER TABLE apps ADD COLUMN app_scoped_last_query_at INTEGER;
ALTER TABLE businesses ADD COLUMN parent_id INTEGER REFERENCES businesses(id);
CREATE INDEX businesses_parent ON businesses(parent_id);
