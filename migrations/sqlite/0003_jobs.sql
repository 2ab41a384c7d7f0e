-- The durable pipeline: every step after intake runs from `jobs`, so a crash loses nothing.

-- What the pipeline embeds, indexes and shows; the original text stays in `text` only.
ALTER TABLE inquiries ADD COLUMN redacted_text TEXT;

CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY,
    -- triage | retention
    kind          TEXT    NOT NULL,
    inquiry_id    INTEGER REFERENCES inquiries (id) ON DELETE CASCADE,
    -- queued → running → done; back to queued with backoff on failure; dead after max_attempts
    state         TEXT    NOT NULL DEFAULT 'queued',
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    -- Milliseconds since the epoch: compared in SQL on every claim, so an integer rather
    -- than RFC 3339 text whose fraction width varies.
    run_at        INTEGER NOT NULL,
    -- A running job whose lease has passed belongs to a dead worker and is taken again.
    locked_until  INTEGER,
    locked_by     TEXT,
    -- Error kind and message of the last failure; never personal data.
    last_error    TEXT,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_at);
CREATE INDEX jobs_inquiry ON jobs (inquiry_id);
-- At most one pending scheduled job (without inquiry) per kind, across all processes.
CREATE UNIQUE INDEX jobs_one_scheduled ON jobs (kind)
    WHERE inquiry_id IS NULL AND state IN ('queued', 'running');

-- Inquiries received before the queue existed are decided by it too.
INSERT INTO jobs (kind, inquiry_id, state, attempts, max_attempts, run_at, created_at, updated_at)
SELECT 'triage', id, 'queued', 0, 5, 0, updated_at, updated_at FROM inquiries WHERE status = 'received';
