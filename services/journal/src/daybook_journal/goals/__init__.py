"""Goal trees: roots, sub-goals at any depth (≤ 11), moves, subtree delete/restore."""
