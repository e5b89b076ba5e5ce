"""Editor-facing servers of pomdb: the Debug Adapter Protocol server and its clients."""
