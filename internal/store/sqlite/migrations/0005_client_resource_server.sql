-- Latch schema, version 4: clients.resource_server.
--
-- Introspection answers a client about its own tokens only, unless the
-- client is registered as a resource server (RFC 7662 §2.1, §4).
ALTER TABLE clients ADD COLUMN resource_server INTEGER NOT NULL DEFAULT 0;
