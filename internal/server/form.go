package server

import (
	"errors"
	"mime"
	"net/http"
	"net/url"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
)

// Reading request parameters at the edge: every form and query a handler
// reads comes through here, so the text rule (checkText) holds for all.

// parsePostForm reads an application/x-www-form-urlencoded body (capped by
// the common middleware). Only the body is read, never the URL query.
// Like parseQuery, it is the edge rule for every form: a name or value
// that is not store.ValidText is refused here, so no such value reaches a
// store or a page.
func parsePostForm(r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, oauth.Errorf(oauth.InvalidRequest, "the request body must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, oauth.Errorf(oauth.InvalidRequest, "the request body is too large").WithCause(err)
		}
		return nil, oauth.Errorf(oauth.InvalidRequest, "the request body is malformed").WithCause(err)
	}
	if err := checkText(r.PostForm); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

// parseQuery reads the URL query of a GET request, with parsePostForm's
// edge rule. what names the request in the error ("authorization").
func parseQuery(r *http.Request, what string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, oauth.Errorf(oauth.InvalidRequest, "the %s request's query string is malformed", what).WithCause(err)
	}
	if err := checkText(q); err != nil {
		return nil, err
	}
	return q, nil
}

// errBadText refuses a request parameter holding a NUL byte or invalid
// UTF-8 (never echoing it).
var errBadText = oauth.Errorf(oauth.InvalidRequest, "a request parameter contains a NUL byte or invalid UTF-8")

// checkText is the edge rule shared by parsePostForm and parseQuery: every
// parameter name and value must be store.ValidText. Handlers never see
// (nor pass to the store) anything else.
func checkText(q url.Values) error {
	if !store.ValidValues(q) {
		return errBadText
	}
	return nil
}

// formValue returns the single value of a form parameter; a repeated
// parameter is an error (RFC 6749 §3.1, §3.2).
func formValue(form url.Values, name string) (string, error) {
	v := form[name]
	switch len(v) {
	case 0:
		return "", nil
	case 1:
		return v[0], nil
	}
	return "", oauth.Errorf(oauth.InvalidRequest, "parameter %s is repeated", name)
}

// authorizationHeader returns the request's Authorization header and
// whether it was sent. It is the one place of the rule that the header
// appears at most once (RFC 9110 §5.3: it is not a list, so a second one
// makes the request ambiguous): more than one is invalid_request, at
// every endpoint that reads it.
func authorizationHeader(r *http.Request) (value string, present bool, err error) {
	vals := r.Header.Values("Authorization")
	switch len(vals) {
	case 0:
		return "", false, nil
	case 1:
		return vals[0], true, nil
	}
	return "", true, oauth.Errorf(oauth.InvalidRequest, "more than one Authorization header")
}
