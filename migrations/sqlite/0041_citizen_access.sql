-- What citizens hold for their case and what clerks reach.

-- Secrets handed to the citizen once, kept as SHA-256: `status` opens
-- GET /api/v1/status/{case}, `confirm` confirms the contact address given through the web
-- or the API.
CREATE TABLE case_secrets (
    id          INTEGER PRIMARY KEY,
    inquiry_id  INTEGER NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
    purpose     TEXT    NOT NULL CHECK (purpose IN ('status', 'confirm')),
    digest      TEXT    NOT NULL UNIQUE,
    created_at  TEXT    NOT NULL
);
CREATE INDEX case_secrets_inquiry ON case_secrets (inquiry_id, purpose);

-- Set when the citizen followed the confirmation link: mail may go to the address.
ALTER TABLE inquiries ADD COLUMN contact_confirmed_at TEXT;

-- The departments whose clerks reach an inquiry (its current decision's department, and in
-- review every candidate's), rewritten with every decision: the inbox queries' scope.
CREATE TABLE inquiry_departments (
    inquiry_id  INTEGER NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
    department  TEXT    NOT NULL,
    PRIMARY KEY (department, inquiry_id)
);
CREATE INDEX inquiry_departments_inquiry ON inquiry_departments (inquiry_id);
INSERT OR IGNORE INTO inquiry_departments (inquiry_id, department)
SELECT id, json_extract(decision, '$.department.id') FROM inquiries WHERE decision IS NOT NULL;
INSERT OR IGNORE INTO inquiry_departments (inquiry_id, department)
SELECT i.id, json_extract(c.value, '$.department_id')
FROM inquiries i, json_each(i.decision, '$.candidates') c
WHERE i.decision IS NOT NULL AND json_extract(i.decision, '$.status') = 'review';

-- The clerks' answers to a case as the citizen reads them on the status page, whether or
-- not they could be mailed.
CREATE TABLE case_replies (
    id          INTEGER PRIMARY KEY,
    inquiry_id  INTEGER NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
    text        TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    mailed      INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL
);
CREATE INDEX case_replies_inquiry ON case_replies (inquiry_id);
