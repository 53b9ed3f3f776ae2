"""CloudWatch Logs served from SQLite in the state folder.

Groups, streams and events persist across restarts, and memory stays flat however much is logged.
"""
