"""Practice sessions of a goal tree: activity instances, their metric values, timers."""
