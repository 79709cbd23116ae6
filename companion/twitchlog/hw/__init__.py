"""Hardware: deploy over USB, the power model, the LittleFS flash image."""
