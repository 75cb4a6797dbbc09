/**
 * API tokens get a name, an origin and soft revocation (issue 4, tenant isolation). Revoked rows
 * stay, so a node restarted with a retired HERALD_ADMIN_TOKEN cannot bring that token back.
 * Tokens stored before this version came from start-up (admin) or app portal access (app).
 * `tokens_app` serves the list filtered by application and the cascade when one is deleted.
 */
export const apiTokens = `
ALTER TABLE tokens ADD COLUMN name TEXT;
ALTER TABLE tokens ADD COLUMN origin TEXT NOT NULL DEFAULT 'api';
ALTER TABLE tokens ADD COLUMN revoked_at BIGINT;
UPDATE tokens SET origin = CASE kind WHEN 'admin' THEN 'startup' ELSE 'portal' END;
CREATE INDEX tokens_app ON tokens (app_id, id);
`;
