-- Every mail anliegen received or sent, with what became of it. Inbound rows are written in
-- the same transaction as the inquiry they open, so a restart never duplicates one.
CREATE TABLE mail_messages (
    id             INTEGER PRIMARY KEY,
    inquiry_id     INTEGER REFERENCES inquiries (id) ON DELETE CASCADE,
    direction      TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    -- `mid:<Message-ID>` or `sha256:<hex of the raw bytes>`; NULL for outbound mail
    dedup_key      TEXT    UNIQUE,
    message_id     TEXT,
    in_reply_to    TEXT,
    -- space-separated message ids, oldest first
    "references"   TEXT,
    subject        TEXT,
    from_address   TEXT,
    -- inquiry | reply | auto_reply | bounce | empty | unreadable | too_large | sent
    outcome        TEXT    NOT NULL,
    reason         TEXT,
    size           INTEGER NOT NULL,
    attachments    TEXT    NOT NULL DEFAULT '[]',
    body_original  TEXT    NOT NULL DEFAULT '',
    body_clean     TEXT    NOT NULL DEFAULT '',
    received_at    TEXT    NOT NULL
);
CREATE INDEX mail_messages_inquiry ON mail_messages (inquiry_id);
CREATE INDEX mail_messages_message_id ON mail_messages (message_id);

-- Outbound mail waiting to be sent, being sent, sent, or given up on. Each row gets its
-- Message-ID when queued, so a resend after a crash carries the same id.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    inquiry_id       INTEGER NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
    kind             TEXT    NOT NULL CHECK (kind IN ('ack', 'forward', 'reply')),
    to_address       TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    message_id       TEXT    NOT NULL UNIQUE,
    in_reply_to      TEXT,
    "references"     TEXT,
    auto_submitted   TEXT,
    state            TEXT    NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'sending', 'sent', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    -- SMTP status or error class only, never addresses or text
    last_error       TEXT,
    created_at       TEXT    NOT NULL,
    sent_at          TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
-- One acknowledgement and one forward per inquiry, however often it is decided.
CREATE UNIQUE INDEX outbox_once ON outbox (inquiry_id, kind) WHERE kind <> 'reply';
