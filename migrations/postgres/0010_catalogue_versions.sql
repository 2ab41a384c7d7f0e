-- Numbered catalogue versions: every import or edit that changes the catalogue adds one;
-- the latest is the one routed with. `content` is the catalogue in its TOML format.
CREATE TABLE catalogue_versions (
    version     BIGINT  PRIMARY KEY,
    created_at  TEXT    NOT NULL,
    -- config (the configured file, taken at start) | import (CLI) | api (admin API)
    origin      TEXT    NOT NULL,
    -- format and file names it was imported from
    source      TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    services    BIGINT  NOT NULL,
    content     TEXT    NOT NULL,
    -- JSON: what the import took and skipped, and the changes against the version before
    report      TEXT    NOT NULL
);
