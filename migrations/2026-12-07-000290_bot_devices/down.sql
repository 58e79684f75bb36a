ALTER TABLE bots DROP COLUMN device_key;
ALTER TABLE bots DROP COLUMN device_id;
