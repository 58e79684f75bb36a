-- Character card fields a persona keeps beyond its own (greeting, scenario, tags, unknown extensions…), as JSON.
ALTER TABLE personas ADD COLUMN card TEXT NOT NULL DEFAULT '{}';
