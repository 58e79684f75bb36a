DROP TABLE prune_runs;
DROP TABLE memories;
