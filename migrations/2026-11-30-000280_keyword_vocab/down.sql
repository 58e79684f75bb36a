DROP TABLE memories_fts_vocab;
