"""Activities of a goal tree, their groups, metric definitions and split definitions."""
