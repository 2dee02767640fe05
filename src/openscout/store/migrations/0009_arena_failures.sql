-- Failed battle answers counted per model, apart from the battles: a failed battle has no
-- vote, so it was pruned with the open battles beyond 200, and any client starting 200
-- battles erased every failure count (38th probe). One row a model: bounded.
CREATE TABLE arena_failures (
    model TEXT PRIMARY KEY,
    failed INTEGER NOT NULL
);
INSERT INTO arena_failures (model, failed)
    SELECT model, count(*) FROM (
        SELECT model_a AS model FROM battles WHERE failed_a
        UNION ALL SELECT model_b FROM battles WHERE failed_b
    ) GROUP BY model;
