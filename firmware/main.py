"""Runs at every boot and every wake from deep sleep."""

import app

app.main()
