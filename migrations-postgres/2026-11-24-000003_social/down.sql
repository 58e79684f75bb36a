DROP TABLE emotional_states;
DROP TABLE interactions;
DROP TABLE relationships;
