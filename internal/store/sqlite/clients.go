package sqlite

import (
	"context"

	"github.com/latchauth/latch/internal/store"
)

// --- clients ------------------------------------------------------------

const clientCols = `id, secret_hash, public, name, redirect_uris, post_logout_redirect_uris,
	allowed_origins, grant_types, scopes, audiences, first_party, require_dpop, id_token_alg,
	refresh_grace, refresh_idle, refresh_absolute, access_token_ttl, revoke_refresh_on_logout, created_at, resource_server,
	token_endpoint_auth_method, jwks, jwks_uri, require_par,
	backchannel_logout_uri, backchannel_logout_session_required, require_fresh_challenge, authentication_policy, origin, registration_token_hash`

func clientArgs(c store.Client) []any {
	return []any{c.ID, c.SecretHash, bv(c.Public), c.Name, lv(c.RedirectURIs), lv(c.PostLogoutRedirectURIs),
		lv(c.AllowedOrigins), lv(c.GrantTypes), lv(c.Scopes), lv(c.Audiences), bv(c.FirstParty), bv(c.RequireDPoP), c.IDTokenAlg,
		int64(c.RefreshGrace), int64(c.RefreshIdle), int64(c.RefreshAbsolute), int64(c.AccessTokenTTL), bv(c.RevokeRefreshOnLogout), tv(c.CreatedAt), bv(c.ResourceServer),
		c.AuthMethod, c.JWKS, c.JWKSURI, bv(c.RequirePAR), c.BackchannelLogoutURI, bv(c.BackchannelLogoutSessionRequired), bv(c.RequireFreshChallenge), c.AuthenticationPolicy, c.Origin, c.RegistrationTokenHash}
}

func scanClient(r scanner) (store.Client, error) {
	var c store.Client
	err := r.Scan(&c.ID, &c.SecretHash, &c.Public, &c.Name, lscan{&c.RedirectURIs}, lscan{&c.PostLogoutRedirectURIs},
		lscan{&c.AllowedOrigins}, lscan{&c.GrantTypes}, lscan{&c.Scopes}, lscan{&c.Audiences}, &c.FirstParty, &c.RequireDPoP, &c.IDTokenAlg,
		dscan{&c.RefreshGrace}, dscan{&c.RefreshIdle}, dscan{&c.RefreshAbsolute}, dscan{&c.AccessTokenTTL}, &c.RevokeRefreshOnLogout, tscan{&c.CreatedAt}, &c.ResourceServer,
		&c.AuthMethod, &c.JWKS, &c.JWKSURI, &c.RequirePAR, &c.BackchannelLogoutURI, &c.BackchannelLogoutSessionRequired, &c.RequireFreshChallenge, &c.AuthenticationPolicy, &c.Origin, &c.RegistrationTokenHash)
	return c, mapErr(err)
}

// CreateClient inserts c; a duplicate ID fails with store.ErrAlreadyExists.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	_, err := s.exec(ctx, `INSERT INTO clients (`+clientCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, clientArgs(c)...)
	return wrap("create client", err)
}

// GetClient returns the client with that ID or store.ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.queryRow(ctx, `SELECT `+clientCols+` FROM clients WHERE id = ?`, id))
	return c, wrap("get client", err)
}

// ListClients returns every client ordered by ID.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.query(ctx, `SELECT `+clientCols+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, wrap("list clients", err)
	}
	defer rows.Close()
	var out []store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, wrap("list clients", err)
		}
		out = append(out, c)
	}
	return out, wrap("list clients", rows.Err())
}

// UpdateClient replaces every field of the client with c.ID.
func (s *Store) UpdateClient(ctx context.Context, c store.Client) error {
	args := clientArgs(c)
	n, err := rowsAffected(s.exec(ctx, `UPDATE clients SET secret_hash=?, public=?, name=?, redirect_uris=?,
		post_logout_redirect_uris=?, allowed_origins=?, grant_types=?, scopes=?, audiences=?, first_party=?,
		require_dpop=?, id_token_alg=?, refresh_grace=?, refresh_idle=?, refresh_absolute=?, access_token_ttl=?,
		revoke_refresh_on_logout=?, created_at=?, resource_server=?,
		token_endpoint_auth_method=?, jwks=?, jwks_uri=?, require_par=?, backchannel_logout_uri=?,
		backchannel_logout_session_required=?, require_fresh_challenge=?, authentication_policy=?, origin=?, registration_token_hash=? WHERE id=?`, append(args[1:], c.ID)...))
	return wrap("update client", oneRow(n, err))
}

// DeleteClient deletes the client and, by cascade, its consents, codes,
// grants and refresh tokens.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	n, err := rowsAffected(s.exec(ctx, `DELETE FROM clients WHERE id = ?`, id))
	return wrap("delete client", oneRow(n, err))
}
