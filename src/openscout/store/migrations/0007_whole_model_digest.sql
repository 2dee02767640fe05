-- A model file's cache identity is the sha256 of the whole file: the first and last MiB and
-- the size let a file changed only in between take another's cached answers and score (37th
-- probe). Kept per path and file version (device, inode, size, both times), so each version
-- is read once; the edge digests before are dropped, not trusted.
DROP TABLE model_fingerprints;
CREATE TABLE model_fingerprints (
    path TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    digest TEXT NOT NULL
);
