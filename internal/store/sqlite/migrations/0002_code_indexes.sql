-- Latch schema, version 2: fewer indexes on auth_codes.
--
-- Every index is one more B-tree page written to the WAL per code issued
-- (two write syscalls per page). auth_codes_client and auth_codes_user
-- served only the ON DELETE CASCADE from clients and users; codes live at
-- most 60 s and are swept every minute, so that rare delete can scan the
-- small table instead. Issuing a code now writes 3 pages instead of 5.
DROP INDEX auth_codes_client;
DROP INDEX auth_codes_user;
