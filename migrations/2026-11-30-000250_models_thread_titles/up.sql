-- A topic thread's title from the model configured for the `title` task (issue 17); NULL: labelled by keywords.
ALTER TABLE chat_threads ADD COLUMN title TEXT;
