-- 0003_client_resource_server: clients.resource_server.
--
-- Introspection answers a client about its own tokens only, unless the
-- client is registered as a resource server (RFC 7662 §2.1, §4).
ALTER TABLE clients ADD COLUMN resource_server boolean NOT NULL DEFAULT false;
