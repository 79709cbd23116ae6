"""BLE: the adapter choice, GATT client, sync, watch, pairing and device control."""
