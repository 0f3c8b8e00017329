#!/usr/bin/env bash
# Builds the Angular examples into dist/bff/browser and dist/spa/browser:
# npm ci when node_modules is missing or older than package-lock.json, then
# ng build for each app whose sources changed since its last build.
# Idempotent and quick when nothing changed; e2e/angular.test.js runs it
# before driving the apps, and scripts/provision installs the packages.
#
#   examples/angular/build.sh            install if needed, build if stale
#   examples/angular/build.sh --install  only the npm ci step
set -euo pipefail
cd "$(dirname "$0")"
export NG_CLI_ANALYTICS=false

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "angular: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
[ "${1:-}" = --install ] && exit 0

for app in bff spa; do
  out="dist/$app/browser/index.html"
  if [ -f "$out" ] && [ -z "$(find "$app" angular.json tsconfig.json package-lock.json -newer "$out" -print -quit)" ]; then
    echo "angular: $app is up to date ($out)"
    continue
  fi
  echo "angular: ng build $app"
  npx ng build "$app"
done
