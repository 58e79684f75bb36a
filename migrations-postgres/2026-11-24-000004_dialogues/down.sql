DROP TABLE dialogue_turns;
DROP TABLE dialogues;
