#!/bin/sh
# Stands in for the user's browser during the e2e run (xdg-open calls $BROWSER): records the
# address the app asked to open.
printf '%s\n' "$1" >> "${BERTH_E2E_BROWSER_LOG:?}"
