"""Named errors of the guarantee fund's domain.

Every refusal carries an English message and, in ``zh``, the same message in Chinese for the
clerk's screen and the bank's error report. ``code`` is stable: callers and reports match on
it, never on the wording.
"""

from __future__ import annotations

from ledger.errors import LedgerError


class FundError(LedgerError):
    """Base of every refusal by the fund's domain rules."""

    code = "fund-error"


class InvalidIdNumberError(FundError):
    """A resident ID number (居民身份证号码) that is malformed or fails its check digit."""

    code = "invalid-id-number"


class EligibilityError(FundError):
    """A borrower who may not get a guaranteed loan, or an unknown borrower category."""

    code = "not-eligible"


class CredentialError(EligibilityError):
    """A certificate the rules require that the borrower does not hold on the date, one
    that was revoked, or one already registered to another person."""

    code = "credential"


class MissingCredentialError(CredentialError):
    code = "credential-missing"


class RevokedCredentialError(CredentialError):
    code = "credential-revoked"


class DuplicateCredentialError(CredentialError):
    code = "credential-duplicate"


class PolicyError(FundError):
    """A policy parameter, rule set or reference rate that is malformed, unknown or refused."""

    code = "policy"


class FundJurisdictionError(FundError):
    """A fund asked to guarantee a loan outside its jurisdiction or before it existed."""

    code = "fund-jurisdiction"


class GuaranteeFeeCapError(PolicyError):
    """A guarantee fee (担保费) rate above the most the rules allow: 1% a year."""

    code = "guarantee-fee-cap"


class GuaranteeFeeError(FundError):
    """A guarantee fee recorded where the rules charge none, or for a period that is not one."""

    code = "guarantee-fee"


class ReferenceDataError(FundError):
    """Unknown or duplicate district, bank, capital source, user or borrower."""

    code = "reference-data"


class DuplicateBorrowerError(ReferenceDataError):
    """A resident ID number already registered to another borrower."""

    code = "borrower-duplicate"


class PersonalDataError(FundError):
    """A correction or erasure of a borrower's personal data that cannot be made."""

    code = "personal-data"


class CorrectionError(PersonalDataError):
    """A correction with nothing to correct, without a reason, or with which the borrower
    would not have been eligible for a guarantee they hold."""

    code = "correction"


class ErasedBorrowerError(PersonalDataError):
    """A borrower whose personal data was erased: nothing more is recorded for them."""

    code = "borrower-erased"


class ErasureError(PersonalDataError):
    """Personal data that may not be erased yet."""

    code = "erasure"


class OpenRecordsError(ErasureError):
    """The borrower still has a loan or a commitment open."""

    code = "erasure-open"


class RetentionPeriodError(ErasureError):
    """The retention period after the borrower's last record closed has not ended;
    ``erasable_from`` is the first date the data may be erased."""

    code = "erasure-retention"

    def __init__(self, message: str, *, erasable_from, zh=None):
        super().__init__(message, zh=zh)
        self.erasable_from = erasable_from


class PermissionDeniedError(FundError):
    """The user lacks the role for an action, or acts for another bank."""

    code = "permission-denied"


class ProtectedAccountError(PermissionDeniedError):
    """A manual entry or account that would touch the fund's own accounts."""

    code = "protected-account"


class MakerCheckerError(PermissionDeniedError):
    """Someone tried to approve a record they recorded themselves."""

    code = "maker-checker"


class StateError(FundError):
    """The record is not in a state that allows the action (e.g. approving twice)."""

    code = "invalid-state"


class StatusTransitionError(StateError):
    """A status change that the record's lifecycle does not allow (e.g. paid → filed).

    The operations refuse an action on a record in the wrong state with their own named
    error first; this one is the lifecycle's guarantee behind them."""

    code = "status-transition"


class LimitError(FundError):
    """An amount, term or rate outside what the rule set allows."""

    code = "over-limit"


class RepeatLoanError(FundError):
    """The borrower may not borrow again under the repeat-loan rules."""

    code = "repeat-loan"


class BankSuspendedError(FundError):
    """New guarantees at the bank are suspended (compensation rate over the threshold)."""

    code = "bank-suspended"


class CounterGuaranteeError(FundError):
    """A counter-guarantee is missing, malformed, or cannot be released or enforced."""

    code = "counter-guarantee"


class CommitmentError(FundError):
    """A disbursement that does not match its commitment."""

    code = "commitment"


class LeverageCapError(FundError):
    """The bank's guarantee exposure would exceed multiplier × its special account balance."""

    code = "leverage-cap"

    def __init__(self, message: str, *, cap: int, exposure: int, shortfall: int, zh=None):
        super().__init__(message, zh=zh)
        self.cap, self.exposure, self.shortfall = cap, exposure, shortfall


class RepaymentError(FundError):
    """A repayment that is over the outstanding principal, misdated, or inconsistent."""

    code = "repayment"


class BalanceMismatchError(RepaymentError):
    """The bank's principal balance after a repayment differs from the fund's figure."""

    code = "balance-mismatch"


class DuplicateReferenceError(FundError):
    """A bank reference or contract number already used with different content."""

    code = "duplicate-reference"


class ClaimError(FundError):
    """A claim filed too early, on a loan not in default, or paid or decided wrongly."""

    code = "claim"


class RecoveryError(FundError):
    """A recovery on a loan without a paid claim, or more than is still owed."""

    code = "recovery"


class WriteOffError(FundError):
    """A write-off with nothing left to write off, or in the wrong state."""

    code = "write-off"


class ExtensionError(FundError):
    """An extension the loan's rule set does not allow."""

    code = "extension"


class RowsRejectedError(FundError):
    """A batch (a bank file's rows) with refused lines; nothing of it was written.

    ``errors`` lists every refused line (row, column, value as given, and the named
    error with its English and Chinese message).
    """

    code = "rows-rejected"

    def __init__(self, errors):
        self.errors = list(errors)
        first = self.errors[0]
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(
            f"{len(self.errors)} row(s) refused; nothing was posted. Row {first.row}, "
            f"{first.column}: {first.message}{more}",
            zh=f"{len(self.errors)} 行有错误，本批未入账。第 {first.row} 行 {first.column}："
            f"{first.zh}",
        )


class SignInError(FundError):
    """A sign-in refused. Its subclasses' codes are what a caller matches on."""

    code = "sign-in"


class BadCredentialsError(SignInError):
    """An unknown user, a wrong password, a user without a password or an inactive user:
    one message for all four, so that a name cannot be probed."""

    code = "bad-credentials"


class AccountLockedError(SignInError):
    """Too many failed sign-ins in a row: the account is locked until ``locked_until``
    (naive UTC), or until an admin unlocks it."""

    code = "locked"

    def __init__(self, message: str, *, locked_until, zh=None):
        super().__init__(message, zh=zh)
        self.locked_until = locked_until


class PasswordError(FundError):
    """A password that cannot be set."""

    code = "password"


class PasswordPolicyError(PasswordError):
    """A new password the policy refuses; ``problems`` lists each thing wrong with it,
    in Chinese, as the message does."""

    code = "password-policy"

    def __init__(self, message: str, *, problems, zh=None):
        super().__init__(message, zh=zh)
        self.problems = tuple(problems)


class WrongPasswordError(PasswordError):
    """A password change whose current password is not the user's."""

    code = "wrong-password"
