-- Idempotency-Key of POST /api/v1/inquiries: a retried request with the same key within
-- 24 h gets the first request's case instead of a second one. The key and the request are
-- kept as SHA-256 digests; the status secret of the case only sealed with the key, so the
-- table alone opens nothing.
CREATE TABLE idempotency_keys (
    key_digest      TEXT    PRIMARY KEY,
    request_digest  TEXT    NOT NULL,
    -- Set in the same transaction that inserts the row; never seen empty by others.
    inquiry_id      INTEGER REFERENCES inquiries (id) ON DELETE CASCADE,
    sealed_secret   TEXT    NOT NULL,
    -- Milliseconds since the epoch; rows older than 24 h are removed by later inserts.
    created_ms      INTEGER NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);
CREATE INDEX idempotency_keys_inquiry ON idempotency_keys (inquiry_id);
