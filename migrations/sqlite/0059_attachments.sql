-- Files a citizen attached to an inquiry through the form (photos, PDFs): checked for type
-- and size at intake, shown to staff only, erased and exported with the case.
CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY,
    inquiry_id    INTEGER NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT    NOT NULL,
    data          BLOB    NOT NULL,
    created_at    TEXT    NOT NULL
);
CREATE INDEX attachments_inquiry ON attachments (inquiry_id);
