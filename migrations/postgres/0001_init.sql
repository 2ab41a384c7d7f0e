-- Inquiries as received; the original text lives only here.
CREATE TABLE inquiries (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_number   TEXT    NOT NULL UNIQUE,
    received_at   TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    sender        TEXT,
    text          TEXT    NOT NULL,
    -- received → routed | review; failed after repeated errors
    status        TEXT    NOT NULL DEFAULT 'received',
    -- current decision as JSON (the full history is in `decisions`)
    decision      TEXT,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX inquiries_status ON inquiries (status);

-- Every decision ever made for an inquiry, newest last.
CREATE TABLE decisions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inquiry_id  BIGINT  NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
    created_at  TEXT    NOT NULL,
    router      TEXT    NOT NULL,
    model       TEXT    NOT NULL,
    service_id  TEXT    NOT NULL,
    confidence  DOUBLE PRECISION NOT NULL,
    status      TEXT    NOT NULL,
    decision    TEXT    NOT NULL
);
CREATE INDEX decisions_inquiry ON decisions (inquiry_id);

-- Per-year sequence behind case numbers like 2026-000123.
CREATE TABLE case_counters (
    year  INTEGER PRIMARY KEY,
    last  BIGINT  NOT NULL
);

-- Embeddings by model and SHA-256 of the exact input text: computed once, reused by
-- catalogue rebuilds and retraining.
CREATE TABLE embedding_cache (
    model      TEXT  NOT NULL,
    text_hash  TEXT  NOT NULL,
    vector     BYTEA NOT NULL,
    PRIMARY KEY (model, text_hash)
);
