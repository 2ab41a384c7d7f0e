-- Tamper-evident audit log and GDPR retention.

-- Append-only; each entry's hash covers the previous entry's hash, so changing or deleting
-- any entry breaks the chain. Details hold ids, versions and scores, never message text.
CREATE TABLE audit_log (
    seq        BIGINT  PRIMARY KEY,
    at         TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    details    TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
);

-- The chain's head (entry count and last hash), updated in the same transaction as every
-- append: deleting the newest entries is detected too.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   BIGINT  NOT NULL,
    hash  TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Set when retention replaced text and sender; the case and its decisions remain.
ALTER TABLE inquiries ADD COLUMN anonymised_at TEXT;
CREATE INDEX inquiries_received ON inquiries (received_at);
