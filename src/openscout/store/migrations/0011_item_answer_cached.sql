-- Whether an item's own answer (the model's, not its judge's) came from the answer cache.
-- Told apart from the call counts, which hold the judge's calls too: a judge asked afresh
-- made a cached answer read as asked now, and a server switched to junk was recommended on
-- its old answers without the note that says so (53rd probe). NULL: an item from before.
ALTER TABLE eval_items ADD COLUMN answer_cached INTEGER;
