-- Suggested replies: the inquiry's language, what clerks sent (redacted, for similar
-- replies), the German copy of a reply sent in another language, clerk-saved templates
-- (versioned) and the reply autonomy set per service.

-- ISO 639-1 code detected by the pipeline.
ALTER TABLE inquiries ADD COLUMN language TEXT;

ALTER TABLE case_replies ADD COLUMN service_id TEXT;
ALTER TABLE case_replies ADD COLUMN language TEXT;
-- The reply with personal data replaced by placeholders: offered as an alternative for
-- similar inquiries of the same service.
ALTER TABLE case_replies ADD COLUMN redacted_text TEXT;
-- The German copy for the file when the reply went out in another language.
ALTER TABLE case_replies ADD COLUMN german_copy TEXT;
CREATE INDEX case_replies_service ON case_replies (service_id, id);

CREATE TABLE reply_templates (
    id          INTEGER PRIMARY KEY,
    service_id  TEXT    NOT NULL,
    language    TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    text        TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    UNIQUE (service_id, language, version)
);

CREATE TABLE reply_autonomy (
    service_id  TEXT    PRIMARY KEY,
    mode        TEXT    NOT NULL CHECK (mode IN ('suggest', 'draft', 'auto')),
    actor       TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
