"""The exceptions reportgen raises on purpose.

    ReportgenError                 base; the CLI prints it as one line, never a traceback
    ├── SpecError                  a report spec is wrong (exit 2); knows file, line and key
    ├── UsageError                 a command-line argument is unusable (exit 2)
    ├── WidgetFailure              one widget could not be fetched (drawn as a placeholder, exit 3)
    │   ├── AwsError               CloudWatch answered with an error code
    │   ├── TransientError         no usable answer: connection refused or reset, timeout
    │   └── CredentialsError       no usable credentials for the report's profile (nothing was sent)
    ├── ArchiveError               the archive could not be read or written, or a file disagrees with its record
    │                              (reportgen.archive; exit 4 in a run)
    ├── DeliveryError              a mail could not be sent; knows whether a retry may help (reportgen.mailer;
    │                              exit 4 in a run)
    └── SetupError                 the environment is not fit to run (missing extra, stand-in won't start)
"""

from __future__ import annotations

from pathlib import Path


class ReportgenError(Exception):
    """Base of every error reportgen raises deliberately."""


class SpecError(ReportgenError):
    """A report spec that cannot be used. Prints as ``FILE:LINE: message``."""

    def __init__(self, message: str, *, file: Path | str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.key = key

    def __str__(self) -> str:
        where = str(self.file) if self.file is not None else "<spec>"
        if self.line is not None:
            where += f":{self.line}"
        # Keys and values are quoted as written: a newline or an escape sequence in one must not split the
        # message or reach the terminal, so what does not print is shown as its escape.
        message = "".join(char if char.isprintable() else repr(char)[1:-1] for char in self.message)
        return f"{where}: {message}"


class UsageError(ReportgenError):
    """A command-line argument that cannot be used, found after parsing (e.g. an output folder that is a file)."""


class WidgetFailure(ReportgenError):
    """A widget that could not be turned into an image; ``retryable`` says if trying again may help."""

    retryable = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


class AwsError(WidgetFailure):
    """CloudWatch answered with an error, e.g. ``InvalidParameterValue`` or ``Throttling``."""

    def __init__(self, message: str, *, code: str, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.retryable = retryable


# AWS error codes that mean "slow down". botocore treats all of these spellings as throttles.
THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"})


def is_throttle(failure: WidgetFailure) -> bool:
    """Whether CloudWatch turned the request away for going over the account's rate."""
    return failure.code in THROTTLING_CODES


class TransientError(WidgetFailure):
    """No usable answer at all (connection refused or reset, read timeout): always worth a retry."""

    retryable = True


class CredentialsError(WidgetFailure):
    """The report's profile or credentials cannot be used: missing, expired, misconfigured."""


class SetupError(ReportgenError):
    """The environment cannot run the command (a missing optional extra, a stand-in that will not start)."""
