"""Practice statistics of a goal tree, aggregated in SQL (``journal.goal_stats``)."""
