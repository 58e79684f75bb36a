-- A bot's end-to-end encryption device as recorded once it logged in (issue 28): the next start logs in as the
-- same device, and a crypto store that no longer holds this device's key is reported as lost.
ALTER TABLE bots ADD COLUMN device_id TEXT;
ALTER TABLE bots ADD COLUMN device_key TEXT;
