"""The metric collections of an account waiting for a person, set aside in the database.

An account marked ``needs_reauth`` is asked nothing until it is reconnected: its metric
tasks stay (not failed, not dropped) but must not be handed out, nor counted by
``next_due``. Left in place, every ``next_due`` and ``claim_metric_tasks`` walked its
whole backlog in due order (each task due, each skipped), on every call, for as long as
the account waited.

So the SQL stores (schema 9) move such a task's ``due_at`` :data:`WAIT_SHIFT` ahead,
into a range that starts at :data:`WAITING_FROM`, past any real due time: a due-order
scan of the ``metric_tasks_due`` index stops before it (``due_at <= now`` for a claim,
``due_at < WAITING_FROM`` for ``next_due``), and a reconnect moves each back by the same
amount, so it comes again with its own due time, in its place. Triggers do it, not the
code, so that whatever writes the rows does it — this code or an older version still
running during a rolling deploy (``min_compatible`` stays 3), in any process — in the
writing transaction:

- an account turning ``needs_reauth`` (or inserted so, by a copy) sets aside its
  undone tasks, but not one in flight (leased past the account's ``updated_at``, the
  instant of the change: its worker completes it, or puts it back, which sets it aside);
- a task inserted, or given a new ``due_at`` (put back), not leased, of such an account
  is set aside at once;
- an account leaving ``needs_reauth`` (or deleted) brings its tasks back.

The stores still leave out, in their queries, any task of an account waiting for a
person that is in the ordinary range (one whose lease ran out after the account was
marked): correctness never depends on the triggers, only the cost of a waiting backlog.
The memory store keeps no such rows to scan past: it skips them as before.
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "POSTGRES_STATEMENTS",
    "SQLITE_STATEMENTS",
    "WAITING_FROM",
    "WAITING_FROM_US",
    "WAIT_SHIFT",
    "WAIT_SHIFT_US",
]

WAIT_SHIFT = dt.timedelta(days=1_095_000)
"""How far a waiting account's metric task is moved ahead (about 3,000 years: whole
hours, so PostgreSQL adds it as an exact interval, and the farthest moved task, one due
before 5000, stays below year 9999, where Python's datetimes end)."""
WAIT_SHIFT_US = WAIT_SHIFT // dt.timedelta(microseconds=1)
WAITING_FROM = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + WAIT_SHIFT
"""A task whose ``due_at`` is at or past this instant (in the year 4968) is set aside."""
WAITING_FROM_US = WAIT_SHIFT_US

# -- SQLite (due_at: integer microseconds since the epoch) -------------------------------


def _sqlite_move(account: str, *, aside: bool) -> str:
    """Move the undone tasks of ``account`` (NEW or OLD) aside, or back."""
    tasks_of = (
        "publication_id IN (SELECT id FROM publications "
        f"WHERE account_id = {account}.id AND workspace = {account}.workspace)"
    )
    if aside:
        return (
            f"UPDATE metric_tasks SET due_at = due_at + {WAIT_SHIFT_US} "
            f"WHERE done_at IS NULL AND due_at < {WAITING_FROM_US} "
            f"AND (lease_expires_at IS NULL OR lease_expires_at <= {account}.updated_at) "
            f"AND {tasks_of};"
        )
    return (
        f"UPDATE metric_tasks SET due_at = due_at - {WAIT_SHIFT_US} "
        f"WHERE done_at IS NULL AND due_at >= {WAITING_FROM_US} AND {tasks_of};"
    )


_SQLITE_TASK_WAITS = (
    f"NEW.done_at IS NULL AND NEW.due_at < {WAITING_FROM_US} AND NEW.lease_owner IS NULL "
    "AND EXISTS (SELECT 1 FROM publications p JOIN accounts a "
    "ON a.workspace = p.workspace AND a.id = p.account_id "
    "WHERE p.id = NEW.publication_id AND a.status = 'needs_reauth')"
)
_SQLITE_TASK_ASIDE = f"UPDATE metric_tasks SET due_at = due_at + {WAIT_SHIFT_US} WHERE id = NEW.id;"

SQLITE_STATEMENTS: tuple[str, ...] = (
    f"""CREATE TRIGGER metric_tasks_wait AFTER UPDATE OF status ON accounts
        WHEN NEW.status = 'needs_reauth' AND OLD.status IS NOT 'needs_reauth'
        BEGIN {_sqlite_move("NEW", aside=True)} END""",
    f"""CREATE TRIGGER metric_tasks_resume AFTER UPDATE OF status ON accounts
        WHEN OLD.status = 'needs_reauth' AND NEW.status IS NOT 'needs_reauth'
        BEGIN {_sqlite_move("NEW", aside=False)} END""",
    f"""CREATE TRIGGER metric_tasks_wait_new_account AFTER INSERT ON accounts
        WHEN NEW.status = 'needs_reauth'
        BEGIN {_sqlite_move("NEW", aside=True)} END""",
    f"""CREATE TRIGGER metric_tasks_resume_gone_account AFTER DELETE ON accounts
        WHEN OLD.status = 'needs_reauth'
        BEGIN {_sqlite_move("OLD", aside=False)} END""",
    f"""CREATE TRIGGER metric_tasks_wait_added AFTER INSERT ON metric_tasks
        WHEN {_SQLITE_TASK_WAITS}
        BEGIN {_SQLITE_TASK_ASIDE} END""",
    f"""CREATE TRIGGER metric_tasks_wait_put_back AFTER UPDATE OF due_at ON metric_tasks
        WHEN {_SQLITE_TASK_WAITS}
        BEGIN {_SQLITE_TASK_ASIDE} END""",
    # The backlog of the accounts waiting now.
    f"""UPDATE metric_tasks SET due_at = due_at + {WAIT_SHIFT_US}
        WHERE done_at IS NULL AND due_at < {WAITING_FROM_US} AND id IN (
            SELECT t.id FROM metric_tasks t JOIN publications p ON p.id = t.publication_id
            JOIN accounts a ON a.workspace = p.workspace AND a.id = p.account_id
            WHERE a.status = 'needs_reauth' AND t.done_at IS NULL
                AND (t.lease_expires_at IS NULL OR t.lease_expires_at <= a.updated_at))""",
)
"""Schema 9 on SQLite: the triggers, and the tasks of the accounts waiting now set aside."""

# -- PostgreSQL (due_at: timestamptz; the session's time zone is UTC) --------------------

_PG_SHIFT = f"interval '{WAIT_SHIFT // dt.timedelta(hours=1)} hours'"
_PG_FROM = f"(timestamptz 'epoch' + {_PG_SHIFT})"


def _pg_move(account: str, *, aside: bool) -> str:
    tasks_of = (
        "publication_id IN (SELECT id FROM publications "
        f"WHERE workspace = {account}.workspace AND account_id = {account}.id)"
    )
    if aside:
        return (
            f"UPDATE metric_tasks SET due_at = due_at + {_PG_SHIFT} "
            f"WHERE done_at IS NULL AND due_at < {_PG_FROM} "
            f"AND (lease_expires_at IS NULL OR lease_expires_at <= {account}.updated_at) "
            f"AND {tasks_of};"
        )
    return (
        f"UPDATE metric_tasks SET due_at = due_at - {_PG_SHIFT} "
        f"WHERE done_at IS NULL AND due_at >= {_PG_FROM} AND {tasks_of};"
    )


# Schema 9's task trigger read the account's status without a lock: a task put back
# (or added) while a person reconnected the account was set aside after the reconnect
# had moved the others back, and stayed set aside for good. Schema 10 replaces it.
_PG_TASK_WAIT_V9 = f"""CREATE OR REPLACE FUNCTION metric_tasks_wait() RETURNS trigger
        LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM publications p JOIN accounts a
                ON a.workspace = p.workspace AND a.id = p.account_id
                WHERE p.id = NEW.publication_id AND a.status = 'needs_reauth') THEN
            NEW.due_at := NEW.due_at + {_PG_SHIFT};
        END IF;
        RETURN NEW;
    END $$"""

POSTGRES_STATEMENTS: tuple[str, ...] = (
    # ``SET search_path FROM CURRENT``: the store's schema, whoever's session fires it.
    f"""CREATE OR REPLACE FUNCTION metric_tasks_follow_account() RETURNS trigger
        LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF OLD.status = 'needs_reauth' THEN
                {_pg_move("OLD", aside=False)}
            END IF;
        ELSIF NEW.status = 'needs_reauth'
                AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'needs_reauth') THEN
            {_pg_move("NEW", aside=True)}
        ELSIF TG_OP = 'UPDATE' AND OLD.status = 'needs_reauth'
                AND NEW.status IS DISTINCT FROM 'needs_reauth' THEN
            {_pg_move("NEW", aside=False)}
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER metric_tasks_follow_account
        AFTER INSERT OR DELETE OR UPDATE OF status ON accounts
        FOR EACH ROW EXECUTE FUNCTION metric_tasks_follow_account()""",
    _PG_TASK_WAIT_V9,
    f"""CREATE TRIGGER metric_tasks_wait
        BEFORE INSERT OR UPDATE OF due_at ON metric_tasks FOR EACH ROW
        WHEN (NEW.done_at IS NULL AND NEW.due_at < {_PG_FROM} AND NEW.lease_owner IS NULL)
        EXECUTE FUNCTION metric_tasks_wait()""",
    # The backlog of the accounts waiting now.
    f"""UPDATE metric_tasks t SET due_at = t.due_at + {_PG_SHIFT}
        FROM publications p, accounts a
        WHERE p.id = t.publication_id AND a.workspace = p.workspace
            AND a.id = p.account_id AND a.status = 'needs_reauth'
            AND t.done_at IS NULL AND t.due_at < {_PG_FROM}
            AND (t.lease_expires_at IS NULL OR t.lease_expires_at <= a.updated_at)""",
)
"""Schema 9 on PostgreSQL: the triggers, and the tasks of the accounts waiting now set
aside."""


POSTGRES_STATEMENTS_10: tuple[str, ...] = (
    # ``FOR SHARE OF a``: a reconnect (an UPDATE of the account's row) waits until the
    # transaction that set this task aside commits, and then moves it back with the
    # others; a reconnect first makes this one wait and read the account as it is now.
    f"""CREATE OR REPLACE FUNCTION metric_tasks_wait() RETURNS trigger
        LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        PERFORM 1 FROM publications p JOIN accounts a
            ON a.workspace = p.workspace AND a.id = p.account_id
            WHERE p.id = NEW.publication_id AND a.status = 'needs_reauth'
            FOR SHARE OF a;
        IF FOUND THEN
            NEW.due_at := NEW.due_at + {_PG_SHIFT};
        END IF;
        RETURN NEW;
    END $$""",
)
"""Schema 10 on PostgreSQL: the task trigger locks the account it reads (SQLite's
writers are serialised, so its schema 10 changes nothing)."""
