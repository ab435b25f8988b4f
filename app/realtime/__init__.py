"""Socket.IO entry points: the same layer as the HTTP routes, another door to the services."""
