"""bleak backends of our own: Bumble (a software BLE host on any HCI transport)."""
