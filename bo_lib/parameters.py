"""Run and fund parameters: the daily schedule, the management company, one file per fund, and
the parameters every notebook takes (each notebook's own are declared in ``bo_lib.controls``).

Everything is validated with pydantic before any kernel starts. YAML is read with a loader that
keeps identifiers as strings: ``0012`` stays ``"0012"`` (YAML 1.1 would make it octal 10) and
``NO`` stays ``"NO"`` (YAML 1.1 would make it False). Only ``true``/``false`` are booleans and
only plain decimal numbers without leading zeros are numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

# --------------------------------------------------------------------------------------------
# YAML that does not guess


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping holds the same key twice (YAML would silently keep the last value)."""

    def __init__(self, key: object, first: yaml.Mark, again: yaml.Mark):
        self.key, self.first_line, self.line = key, first.line + 1, again.line + 1
        super().__init__(None, None, f"duplicate key {key!r} (line {self.line}; first given on line {self.first_line})", again)


class _StringSafeLoader(yaml.SafeLoader):
    """SafeLoader whose implicit typing follows YAML 1.2 core, not 1.1's guesses, and which refuses
    a mapping that gives the same key twice."""

    def construct_mapping(self, node, deep=False):
        """Rule: every key of a mapping appears once (merge keys ``<<`` may be overridden)."""
        if isinstance(node, yaml.MappingNode):
            seen: dict[object, yaml.Mark] = {}
            for key_node, _value in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark)
                except TypeError:  # an unhashable key: the base constructor reports it
                    continue
                if first is not key_node.start_mark:
                    raise DuplicateKeyError(key, first, key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


_StringSafeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StringSafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StringSafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
# floats with a leading zero before the point are fine (0.5); but 0012.5 is not a float in 1.2 either.


def load_yaml(path: Path) -> object:
    """Read a YAML file with string-preserving implicit types; a syntax error names the file, a key
    given twice in one mapping names the file, the key and both lines."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_StringSafeLoader)  # noqa: S506 - SafeLoader subclass
    except DuplicateKeyError as exc:
        raise ParameterError(path, [(str(exc.key), f"duplicate key on line {exc.line} (first given on line {exc.first_line})")]) from None
    except yaml.YAMLError as exc:
        raise ParameterError(path, [("(file)", f"not valid YAML: {exc}")]) from None
    except OSError as exc:
        raise ParameterError(path, [("(file)", f"cannot be read: {exc.strerror}")]) from None


class ParameterError(ValueError):
    """Invalid parameters: names the file and each offending key with the rule broken."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str]]):
        self.path = str(path)
        self.problems = problems
        lines = [f"{self.path}: {key}: {rule}" for key, rule in problems]
        super().__init__("invalid parameters\n  " + "\n  ".join(lines))

    def _render_traceback_(self) -> list[str]:
        """In a notebook (IPython), the error as ``bo`` prints it, without a traceback: the cell
        that failed is the parameters' cell, and the message names the parameter and the rule."""
        return [f"bo: error: {self}"]


def _validate(model: type[BaseModel], raw: object, path: Path | str) -> BaseModel:
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            # a union's branch shows in the location as its type (``list[...]``): the key is the field
            key = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and "[" in p)) or "(top level)"
            rule = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                rule = "unknown key"
            elif err["type"] == "missing":
                rule = "missing value (required)"
            if "input" in err and err["type"] not in ("missing", "extra_forbidden"):
                rule += f" (got {err['input']!r})"
            problems.append((key, rule))
        raise ParameterError(path, problems) from None


# --------------------------------------------------------------------------------------------
# Models

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


def _identifier(kind: str, pattern: str, rule: str):
    """A string type that must match ``pattern`` in full; the error names the kind and the rule.

    Identifiers end up in paths (archive folders, statement files) and in the store: a value such
    as ``..`` or ``a/b`` would write outside the run folder, so nothing else gets through.
    """
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{kind} must be {rule} ({pattern})")
        return value

    return Annotated[str, AfterValidator(check)]


#: fund codes and the management company's code name the archive folders of a run
_SHORT_CODE = (r"^[A-Z0-9][A-Z0-9_-]{0,15}$", "1 to 16 upper-case letters, digits, '_' or '-', starting with a letter or digit")
FundCode = _identifier("a fund code", *_SHORT_CODE)
CompanyCode = _identifier("a company code", *_SHORT_CODE)
ShareClassCode = _identifier("a share class code", *_SHORT_CODE)
#: account ids name the statement files under inbound/<date>/statements/ (an IBAN has up to 34 characters)
AccountId = _identifier("an account id", r"^[A-Z0-9][A-Z0-9_-]{0,33}$",
                        "1 to 34 upper-case letters, digits, '_' or '-', starting with a letter or digit")
#: notebook names are file names under the notebooks folder and in the run folder
NotebookName = _identifier("a notebook name", r"^[a-z][a-z0-9_]{0,63}$",
                           "1 to 64 lower-case letters, digits or '_', starting with a letter")
#: run ids name the run folder (``20261121T081500Z-3f9a``; ``interactive`` outside a run)
RunId = _identifier("a run id", r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
                    "1 to 64 letters, digits, '_' or '-', starting with a letter or digit")
#: other codes (custodians, banks, administrators, price sources): no path separator, no leading dot
Code = _identifier("a code", r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$",
                   "1 to 40 letters, digits, '_', '.' or '-', starting with a letter or digit")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecuritiesAccount(_Strict):
    account: AccountId
    custodian: Code
    markets: list[str] = Field(default_factory=list, description="MICs settled in this account")


class CashAccount(_Strict):
    account: AccountId
    bank: Code
    currency: Currency
    statement_format: Literal["mt940", "camt053"]


class PerformanceFee(_Strict):
    rate_pct: float = Field(ge=0, le=100)
    hurdle_pct: float = Field(default=0.0, ge=0)
    high_water_mark: Literal["per_share"] = "per_share"
    crystallisation: Literal["annual", "quarterly", "monthly"] = "annual"


class ShareClass(_Strict):
    code: ShareClassCode
    name: str
    currency: Currency
    management_fee_pct: float = Field(ge=0, le=10, description="% per annum of class net assets")
    distribution: Literal["accumulating", "distributing"] = "accumulating"
    minimum_investment: float = Field(default=0.0, ge=0)
    performance_fee: PerformanceFee | None = None


class FixedFee(_Strict):
    name: str
    annual_amount: float = Field(ge=0)


class Tolerances(_Strict):
    position_quantity: float = Field(default=0.0001, ge=0)
    market_value_abs: float = Field(default=0.01, ge=0)
    market_value_rel: float = Field(default=1e-6, ge=0)
    cash_amount: float = Field(default=0.01, ge=0)
    trade_price_rel: float = Field(default=1e-6, ge=0)
    trade_net_amount: float = Field(default=0.01, ge=0)


class NavThresholds(_Strict):
    materiality_pct: float = Field(gt=0, description="shadow vs administrator NAV, % of NAV")
    day_move_pct: float = Field(gt=0, description="day-over-day NAV per share move flagged above this")


class ReconPolicy(_Strict):
    write_off_threshold: float = Field(default=0.0, ge=0, description="a break write-off above this absolute value in base currency "
                                                                       "needs a second person's approval (four eyes); 0: every write-off")


class CorporateActionPolicy(_Strict):
    election_buffer_days: int = Field(default=3, ge=0, le=30, description="business days of the security's market before the market "
                                                                           "deadline the fund wants its elections made (its internal deadline)")


class Pricing(_Strict):
    hierarchy: dict[str, list[Code]] = Field(description="asset class -> price sources, best first")
    stale_days: int = Field(default=3, ge=1, description="a price unchanged this many days is stale")
    jump_pct: dict[str, float] = Field(default_factory=lambda: {"equity": 5.0, "government_bond": 1.0, "corporate_bond": 1.0})
    fx_move_pct: float = Field(default=5.0, gt=0)


class FundParameters(_Strict):
    fund_code: FundCode
    name: str
    fund_type: Literal["equity", "bond", "mixed", "money_market", "hedge"]
    base_currency: Currency
    management_company: CompanyCode
    administrator: Code
    calendar: str = Field(description="market whose business days the fund values on (MIC)")
    inception_date: dt.date
    dealing: Literal["daily", "weekly", "monthly"] = "daily"
    day_basis: Literal[360, 365] = 365
    nav_decimals: int = Field(default=4, ge=0, le=8)
    unit_decimals: int = Field(default=3, ge=0, le=8)
    withholding_tax_pct: dict[str, float] = Field(default_factory=dict, description="issuer country -> %")
    securities_accounts: list[SecuritiesAccount] = Field(min_length=1)
    cash_accounts: list[CashAccount] = Field(min_length=1)
    share_classes: list[ShareClass] = Field(min_length=1)
    fixed_fees: list[FixedFee] = Field(default_factory=list)
    tolerances: Tolerances = Tolerances()
    nav_thresholds: NavThresholds
    recon: ReconPolicy = ReconPolicy()
    corporate_actions: CorporateActionPolicy = CorporateActionPolicy()
    pricing: Pricing
    regulatory_regimes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_codes(self) -> FundParameters:
        for label, codes in (
            ("share_classes", [c.code for c in self.share_classes]),
            ("cash_accounts", [a.account for a in self.cash_accounts]),
            ("securities_accounts", [a.account for a in self.securities_accounts]),
        ):
            dupes = sorted({c for c in codes if codes.count(c) > 1})
            if dupes:
                raise ValueError(f"{label}: duplicated code(s) {dupes}")
        return self


class Address(_Strict):
    street: str
    city: str
    state_or_country: str
    zip_code: str


class Signatory(_Strict):
    """Who signs regulatory filings for the company (the 13F signature block)."""

    name: str
    title: str
    phone: Annotated[str, StringConstraints(pattern=r"^[0-9 ()+.\-]{7,20}$")]


class ManagementCompany(_Strict):
    code: CompanyCode
    name: str
    cik: Annotated[str, StringConstraints(pattern=r"^\d{10}$")]
    lei: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{18}\d{2}$")]
    address: Address
    regulatory_regimes: list[str] = Field(default_factory=list)
    signatory: Signatory | None = None
    form13f_file_number: Annotated[str, StringConstraints(pattern=r"^028-\d{5,6}$")] | None = None


class ScheduledJob(_Strict):
    notebook: NotebookName
    scope: Literal["fund", "company"] = "fund"
    funds: list[FundCode] | Literal["all"] = "all"


class Schedule(_Strict):
    data_root: str = "data"
    report_root: str = "reports"
    store: str = Field(default="store/workbench.duckdb", description="DuckDB file of the workbench; relative paths are under the data root")
    calendar: str = Field(default="XNYS", description="market whose business days the daily run follows")
    workers: int | None = Field(default=None, ge=1, description="parallel jobs; default: CPU count")
    job_timeout_seconds: int = Field(default=900, ge=10, description="wall-clock limit of one job (its whole notebook), in seconds")
    jobs: list[ScheduledJob] = Field(min_length=1)


# --------------------------------------------------------------------------------------------
# The parameters every notebook takes (each control's own model is declared in bo_lib.controls)


class NotebookParameters(_Strict):
    """Parameters every notebook takes. Papermill passes them as strings or numbers."""

    business_date: str = Field(description="YYYY-MM-DD; empty means the latest date in the data")
    data_root: str
    parameters_dir: str
    run_id: RunId = "interactive"
    store: str = Field(default="", description="the workbench's DuckDB file; empty: <data_root>/store/workbench.duckdb")
    output_dir: str = Field(default="", description="folder for files the notebook leaves in the archive (e.g. XML filings); empty: none")

    @model_validator(mode="after")
    def _date_format(self) -> NotebookParameters:
        if self.business_date:
            try:
                dt.date.fromisoformat(self.business_date)
            except ValueError:
                raise ValueError(f"business_date {self.business_date!r} is not YYYY-MM-DD") from None
        return self


class FundNotebookParameters(NotebookParameters):
    fund: FundCode


# --------------------------------------------------------------------------------------------
# Loading


def load_schedule(path: Path | str) -> Schedule:
    """The schedule's file, validated (its notebooks are checked against the control registry by
    ``bo_lib.controls.load_schedule``)."""
    path = Path(path)
    return _validate(Schedule, load_yaml(path), path)


def load_fund(path: Path | str) -> FundParameters:
    path = Path(path)
    fund = _validate(FundParameters, load_yaml(path), path)
    if fund.fund_code != path.stem:
        raise ParameterError(path, [("fund_code", f"{fund.fund_code!r} does not match the file name {path.stem!r}")])
    return fund


def load_funds(parameters_dir: Path | str) -> dict[str, FundParameters]:
    """Every ``funds/<FUND>.yaml``; all files are checked and their errors reported together."""
    errors: list[ParameterError] = []
    funds: dict[str, FundParameters] = {}
    for path in sorted((Path(parameters_dir) / "funds").glob("*.yaml")):
        try:
            fund = load_fund(path)
            funds[fund.fund_code] = fund
        except ParameterError as exc:
            errors.append(exc)
    if errors:
        if len(errors) == 1:
            raise errors[0]
        raise ParameterError(parameters_dir, [(e.path, "; ".join(f"{k}: {r}" for k, r in e.problems)) for e in errors])
    return funds


def load_company(parameters_dir: Path | str) -> ManagementCompany:
    path = Path(parameters_dir) / "company.yaml"
    return _validate(ManagementCompany, load_yaml(path), path)
