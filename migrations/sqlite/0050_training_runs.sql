-- Trainings started from the admin console: who started one, when it ended and with
-- which version or error (no personal data), so the console shows a training in progress
-- on every node until it ends.
CREATE TABLE training_runs (
    id           INTEGER PRIMARY KEY,
    started_at   TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    finished_at  TEXT,
    version      INTEGER,
    seconds      REAL,
    error        TEXT
);
CREATE INDEX training_runs_open ON training_runs (finished_at);
