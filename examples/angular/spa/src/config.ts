import { InjectionToken } from '@angular/core';

// What /config.json tells the app (public/config.json for `ng serve`
// against `latch dev`; a server of the built files may answer its own).
export interface AppConfig {
  issuer: string; // Latch's issuer; discovery is fetched from it
  clientId: string; // a public client: redirect URI <origin>/, allowed origin <origin>
  scope: string;
  apiUrl: string; // the example API (GET /api/messages)
}

export const APP_CONFIG = new InjectionToken<AppConfig>('APP_CONFIG');
