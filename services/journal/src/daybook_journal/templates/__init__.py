"""Session templates: a named, ordered list of a tree's activities that pre-fills a session."""
