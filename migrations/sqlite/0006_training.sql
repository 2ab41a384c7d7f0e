-- Labelled inquiries the classifier learns from: imported files and clerk decisions.
-- Text is stored redacted; examples of an erased inquiry go with it.
CREATE TABLE training_examples (
    id          INTEGER PRIMARY KEY,
    text        TEXT    NOT NULL,
    service_id  TEXT    NOT NULL,
    -- import | review
    source      TEXT    NOT NULL,
    inquiry_id  INTEGER REFERENCES inquiries (id) ON DELETE CASCADE,
    actor       TEXT,
    reason      TEXT,
    created_at  TEXT    NOT NULL
);
CREATE INDEX training_examples_inquiry ON training_examples (inquiry_id);

-- Numbered trained models; exactly one (or none) is active.
CREATE TABLE model_versions (
    version     INTEGER PRIMARY KEY,
    created_at  TEXT    NOT NULL,
    examples    INTEGER NOT NULL,
    embedder    TEXT    NOT NULL,
    -- cross-validation figures as JSON
    metrics     TEXT    NOT NULL,
    model       BLOB    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 0
);
