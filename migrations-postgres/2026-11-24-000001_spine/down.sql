DROP TABLE chat_messages;
DROP TABLE chat_conversations;
DROP TABLE interaction_states;
DROP TABLE personas;
