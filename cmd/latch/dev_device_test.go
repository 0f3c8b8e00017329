package main

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestDevDeviceGrant is issue 16's "done when" for the device grant: a
// CLI signs in to `latch dev` with golang.org/x/oauth2's DeviceAuth and
// DeviceAccessToken, unchanged, as demo-native; the user approves over
// HTTP with the demo account (sign-in, code, allow).
func TestDevDeviceGrant(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "latch.db")
	d := startDev(t, db, bannerWithoutExamples, "--examples=false")
	ctx := t.Context()
	conf := &oauth2.Config{
		ClientID: "demo-native", Scopes: []string{"openid", "profile"},
		Endpoint: oauth2.Endpoint{DeviceAuthURL: d.issuer + "/device_authorization", TokenURL: d.issuer + "/token"},
	}
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	interaction := regexp.MustCompile(`name="interaction" value="([^"]*)"`)
	post := func(path string, form url.Values, page string) string {
		t.Helper()
		m := interaction.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no form on the page before POST %s:\n%s", path, page)
		}
		form.Set("interaction", html.UnescapeString(m[1]))
		resp, err := browser.PostForm(d.issuer+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	resp, err := browser.Get(da.VerificationURIComplete)
	if err != nil {
		t.Fatal(err)
	}
	login, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := post("/login", url.Values{"username": {demoUser}, "password": {demoPassword}}, string(login))
	page = post("/device", url.Values{"user_code": {da.UserCode}}, page)
	if !strings.Contains(page, "Demo Native App") {
		t.Fatalf("confirmation does not name the client:\n%s", page)
	}
	if page = post("/device", url.Values{"decision": {"allow"}}, page); !strings.Contains(page, "Device connected") {
		t.Fatalf("after allow:\n%s", page)
	}
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Extra("id_token") == nil {
		t.Errorf("token: access %v, refresh %v, id_token %v; want all three", tok.AccessToken != "", tok.RefreshToken != "", tok.Extra("id_token") != nil)
	}
}
