-- A side of an arena battle whose model failed to answer (not a busy queue): counted beside
-- the ratings, as failed items are beside a score. A vote needs both answers, so a model
-- failing the prompts it would lose on could never lose them (37th probe).
ALTER TABLE battles ADD COLUMN failed_a INTEGER NOT NULL DEFAULT 0;
ALTER TABLE battles ADD COLUMN failed_b INTEGER NOT NULL DEFAULT 0;
