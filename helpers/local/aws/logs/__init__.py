"""CloudWatch Logs served from SQLite in the state folder: groups, streams and events persist, memory stays flat."""
