// The Angular example over Latch's backend-for-frontend (the bff package,
// docs/bff.md). The BFF serves this app's built files on its own origin,
// so every request below is same-origin and carries the BFF's HttpOnly
// session cookie; no token ever reaches this code.
//
// CSRF (RFC 10017 §6.1.3.3): the BFF runs in double-submit mode
// (bff.CSRF.DoubleSubmit, `--xsrf-cookie` of examples/bff/cmd/bff): it sets
// a script-readable XSRF-TOKEN cookie, and HttpClient copies it into the
// X-XSRF-TOKEN header of every mutating request (POST /logout here).
// Another origin can neither read the cookie nor add the header.
import { provideHttpClient, withFetch, withXsrfConfiguration } from '@angular/common/http';
import { provideZonelessChangeDetection } from '@angular/core';
import { bootstrapApplication } from '@angular/platform-browser';
import { App } from './app';

bootstrapApplication(App, {
  providers: [
    provideZonelessChangeDetection(),
    provideHttpClient(
      withFetch(),
      // Angular's defaults, spelled out: they are the BFF's defaults too
      // (bff.CSRF.CookieName, bff.CSRF.HeaderName).
      withXsrfConfiguration({ cookieName: 'XSRF-TOKEN', headerName: 'X-XSRF-TOKEN' }),
    ),
  ],
}).catch((err) => console.error(err));
