-- What citizens hold for their case and what clerks reach.

-- Secrets handed to the citizen once, kept as SHA-256: `status` opens
-- GET /api/v1/status/{case}, `confirm` confirms the contact address given through the web
-- or the API.
CREATE TABLE case_secrets (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inquiry_id  BIGINT  NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
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
    inquiry_id  BIGINT  NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
    department  TEXT    NOT NULL,
    PRIMARY KEY (department, inquiry_id)
);
CREATE INDEX inquiry_departments_inquiry ON inquiry_departments (inquiry_id);
INSERT INTO inquiry_departments (inquiry_id, department)
SELECT id, (decision::jsonb) -> 'department' ->> 'id' FROM inquiries WHERE decision IS NOT NULL
ON CONFLICT DO NOTHING;
INSERT INTO inquiry_departments (inquiry_id, department)
SELECT i.id, c ->> 'department_id'
FROM inquiries i, jsonb_array_elements((i.decision::jsonb) -> 'candidates') c
WHERE i.decision IS NOT NULL AND (i.decision::jsonb) ->> 'status' = 'review'
ON CONFLICT DO NOTHING;

-- The clerks' answers to a case as the citizen reads them on the status page, whether or
-- not they could be mailed.
CREATE TABLE case_replies (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inquiry_id  BIGINT  NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
    text        TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    mailed      BIGINT  NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL
);
CREATE INDEX case_replies_inquiry ON case_replies (inquiry_id);
