"""User-facing errors: one clear line, no traceback."""


class UserError(Exception):
    """A mistake the user can fix (bad file, flag or server); printed as one line, exit code 2."""

    exit_code = 2


class NotARunFile(UserError):
    """The given path is not a Hamlet run file."""


class BudgetExceeded(Exception):
    """The run's LLM spending reached ``--budget-usd``; the run stops cleanly."""
