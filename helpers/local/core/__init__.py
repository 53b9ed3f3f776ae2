"""The bottom layer: settings, errors, safe paths, credentials, the wire protocol."""
