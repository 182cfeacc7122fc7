"""Notifications in the order they became visible: the live streams' cursor.

A stream resumes after the last notification its client saw (``Last-Event-ID``). Ids and
``created_at`` are assigned before a transaction commits, so with two schedulers (or a snooze and
a pass) a notification with a *smaller* id can become visible *after* one with a larger id that a
client already received; "rows after the last one by id or time" would never send it.

So every transaction that records notifications ends with :data:`RECORD_COMMIT`: under a
transaction-level advisory lock (held to its commit, released only after the commit is visible)
it takes the next ``notification_commits.seq`` for its transaction id; the notifications carry
that id (``notifications.xact``, a column default). Transactions hold the lock one after another,
so ``seq`` order is commit order, and a reader that sees ``seq = n`` sees every committed
``seq < n``: "``(seq, id)`` after the cursor" misses nothing and repeats nothing. The lock is
held for one single-row insert and the commit (a few milliseconds), not for the firing itself.

Reading "after ``seq = n``": each commit also records ``oldest_running`` (its snapshot's xmin), the oldest transaction id still
running when it took its place. A transaction that commits later was running then (its id is at
least that) or got its id later (larger still), so the rows after commit ``n`` are among the
user's rows with ``xact >= oldest_running(n)``: a short range of the ``(user_id, xact, id)`` index, however
many commits came since (a long transaction elsewhere only widens it).

Considered and not taken: ordering by transaction id with ``pg_snapshot_xmin(pg_current_snapshot())``
as the safe horizon (any long transaction anywhere in the cluster — a backup, an export, a
concurrent index build — holds the horizon back and with it every live delivery, against the
1 s target); replaying "since the last one's time minus a safety window" (a duplicate for every
notification in the window, and still wrong for a transaction slower than the window).
"""

from __future__ import annotations

#: One advisory lock (the single-``bigint`` key space) for every recorder of notifications.
LOCK = "hashtextextended('daybook.reminders.notification_commits', 0)"

#: The last statement of a transaction that recorded notifications (``$1``: none). The lock is
#: taken by the materialised CTE before the identity's ``nextval``.
RECORD_COMMIT = f"""
WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock({LOCK}))
INSERT INTO notification_commits (xact, oldest_running)
SELECT (pg_current_xact_id())::text::bigint, (pg_snapshot_xmin(pg_current_snapshot()))::text::bigint
FROM locked
"""

#: Sorts after every notification id: a cursor ``(seq, MAX_ID)`` means "all of commit ``seq``".
MAX_ID = "ffffffff-ffff-ffff-ffff-ffffffffffff"
