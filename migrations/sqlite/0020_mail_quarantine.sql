-- Inbound mail the parser crashed on (a panic or a signal in its child process), counted
-- per message. At mail.parse.quarantine_after attempts the message is quarantined: recorded
-- in mail_messages as unreadable (so it counts as processed and is never parsed again) and
-- kept here whole for admins.
CREATE TABLE mail_quarantine (
    id               INTEGER PRIMARY KEY,
    -- the dedup key of mail_messages
    dedup_key        TEXT    NOT NULL UNIQUE,
    -- `ingest` or `imap:<mailbox name>`
    source           TEXT    NOT NULL,
    message_id       TEXT,
    size             INTEGER NOT NULL,
    attempts         INTEGER NOT NULL,
    -- how the parser ended (exit status or signal), never message content
    last_error       TEXT    NOT NULL,
    raw              BLOB    NOT NULL,
    first_failed_at  TEXT    NOT NULL,
    last_failed_at   TEXT    NOT NULL,
    quarantined_at   TEXT
);
