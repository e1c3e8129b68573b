"""What must survive a restart: the state directory and the one SQLite file in it."""
