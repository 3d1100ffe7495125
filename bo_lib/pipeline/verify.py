"""``bo verify``: is a sealed run still what was sealed, and what it read still what it read?

What is checked, each problem one line naming the file:

1. ``manifest.sha256`` against ``manifest.json`` (``ALTERED manifest.json``);
2. the manifest against the archive's ledger (``bo_lib.pipeline.ledger``): the run must have a
   ``run`` entry whose manifest hash is this manifest's. A manifest rewritten with a recomputed
   checksum fails here (``ALTERED manifest.json: not the manifest the ledger recorded``);
3. every file the run sealed (outputs, index, log, assets) and every file it read (data inputs,
   parameter files, input notebooks), against the hashes the **ledger** recorded when the run was
   sealed (the manifest's, for a run the ledger does not know): ``ALTERED``/``MISSING`` for outputs,
   ``INPUT ALTERED``/``INPUT MISSING``, ``PARAMETER FILE ...``, ``INPUT NOTEBOOK ...``. A deleted
   input fails verify: what cannot be rechecked is not verified;
4. files in the run folder nobody sealed (``EXTRA``), the sign-off companions apart;
5. the sign-off log's chain, each entry against the ledger, and the sign-off page against the log;
6. the ledger's own chain, and with a public key every entry's Ed25519 signature.

Inputs may be checked where they are now (``data``, ``parameters``, ``notebooks``: a copy of the
data root or the parameters folder on the auditor's machine) instead of the recorded paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bo_lib.hashing import sha256_file
from bo_lib.pipeline.archive import MANIFEST, MANIFEST_CHECKSUM, read_manifest, sealed_files
from bo_lib.pipeline.ledger import check_chain, ledger_path, read_ledger, run_entries
from bo_lib.pipeline.signoff import COMPANIONS, SIGNOFF_LOG, log_problems, page_problems, read_log

#: the kind of each sealed file, by its key's prefix in ``sealed_files``: how its problems are named
KINDS = {"input:": "INPUT", "parameters:": "PARAMETER FILE", "notebook:": "INPUT NOTEBOOK"}


@dataclass(frozen=True)
class FileProblem:
    """A sealed or read file that is not the one recorded: ``kind`` is '' for the run's own outputs,
    else a value of ``KINDS``; ``why`` is ``MISSING`` or ``ALTERED``."""

    kind: str
    name: str
    path: Path
    recorded: str
    why: str
    hint: str = ""

    @property
    def line(self) -> str:
        where = "" if not self.kind or str(self.path) == self.name else f" (looked for {self.path})" if self.why == "MISSING" else f" ({self.path})"
        return f"{self.kind + ' ' if self.kind else ''}{self.why} {self.name}{where}{self.hint}"


#: problems that say the manifest itself is not the one sealed (nothing it lists can be trusted)
ANCHOR_PROBLEMS = (f"ALTERED {MANIFEST}", f"MISSING {MANIFEST_CHECKSUM}", "NOT IN LEDGER", "LEDGER MISSING")


@dataclass
class Verification:
    """Outcome of ``bo verify``: one line per problem, how many files were checked, the ledger's state."""

    problems: list[str] = field(default_factory=list)
    files: list[FileProblem] = field(default_factory=list)
    checked: int = 0
    ledger_entry: dict | None = None
    ledger_entries: int = 0
    ledger_head: str = ""
    signed_entries: int = 0
    signatures_checked: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Roots:
    """Where the run's inputs are looked for; None: the path the manifest recorded."""

    data: Path | None = None
    parameters: Path | None = None
    notebooks: Path | None = None


def _location(key: str, run_dir: Path, manifest: dict, roots: Roots) -> tuple[str, str, Path]:
    """(kind, name shown, path on disk) of a sealed file's key."""
    for prefix, kind in KINDS.items():
        if key.startswith(prefix):
            name = key[len(prefix):]
            if prefix == "input:":
                return kind, name, (roots.data or Path(manifest.get("data_root", ""))) / name
            if prefix == "parameters:":
                return kind, name, (roots.parameters or Path(manifest.get("parameters", {}).get("dir", ""))) / name
            return kind, name, (roots.notebooks / Path(name).name) if roots.notebooks else Path(name)
    return "", key, run_dir / key


def delivery_hint(store: Path, name: str, recorded: str, *, missing: bool = False) -> str:
    """Where the book of record knows the recorded hash as a version of the delivery at ``name``,
    which one, and whether a correction superseded it since or the file changed on disk after it
    was ingested; '' when it does not (or the store cannot be read now)."""
    from bo_lib.data.catalogue import Catalogue

    if not Path(store).is_file():
        return ""
    try:
        catalogue = Catalogue(store)
        with catalogue.session():
            history = catalogue.delivery_history(name)
    except Exception:  # a hint only: a busy or unreadable store leaves it out
        return ""
    for row in history.itertuples():
        if row.sha256 == recorded:
            version = f"version {row.version} (delivery {row.delivery_id}, ingested {row.ingested_at:%Y-%m-%d %H:%M:%S})"
            if missing:
                return f"; the run read {version}, {row.status} in the book of record: restore the file from its delivery"
            if row.status == "current":
                return f"; the book of record still holds the {version} the run read as current: the file changed on disk after it was ingested"
            return f"; the run read {version}, {row.status} since by a correction and kept in the book of record"
    return ""


def _check_files(run_dir: Path, manifest: dict, sealed: dict[str, str], roots: Roots, result: Verification) -> None:
    for key, digest in sealed.items():
        kind, name, path = _location(key, run_dir, manifest, roots)
        why = "MISSING" if not path.is_file() else "ALTERED" if sha256_file(path) != digest else ""
        if not why:
            result.checked += 1
            continue
        hint = delivery_hint(Path(manifest.get("store") or ""), name, digest, missing=why == "MISSING") if kind == "INPUT" else ""
        result.files.append(FileProblem(kind, name, path, digest, why, hint))
        result.problems.append(result.files[-1].line)


def _check_checksum(run_dir: Path, result: Verification) -> None:
    checksum_path = run_dir / MANIFEST_CHECKSUM
    if not checksum_path.is_file():
        result.problems.append(f"MISSING {MANIFEST_CHECKSUM}")
        return
    recorded = checksum_path.read_text(encoding="utf-8").split()
    if not recorded or recorded[0] != sha256_file(run_dir / MANIFEST):
        result.problems.append(f"ALTERED {MANIFEST}: {MANIFEST_CHECKSUM} does not match it")
    else:
        result.checked += 2


def _check_against_ledger(run_dir: Path, manifest: dict, ledger: list[dict], where: Path, result: Verification,
                          copied: bool = False) -> dict[str, str]:
    """The run's ledger entry (the first: a run is entered once): the manifest must be the one it
    recorded, the folder where it was sealed (``copied``: a run folder verified out of its archive,
    with the ledger named, keeps only its own name). Returns the hashes to check files against."""
    entries = run_entries(ledger, str(manifest.get("run_id")), "run")
    if not entries:
        result.problems.append(f"NOT IN LEDGER run {manifest.get('run_id')}: {where} has no entry sealing it" if where.is_file()
                               else f"LEDGER MISSING {where}: the run cannot be checked against the archive's ledger")
        return sealed_files(manifest)
    entry = result.ledger_entry = entries[0]
    result.problems += [f"LEDGER DUPLICATE run {manifest.get('run_id')}: entered again at entry {again.get('seq')} "
                        f"(a run is sealed once; checked against entry {entry.get('seq')})" for again in entries[1:]]
    if entry.get("manifest_sha256") != sha256_file(run_dir / MANIFEST):
        result.problems.append(f"ALTERED {MANIFEST}: not the manifest the ledger recorded when the run was sealed "
                               f"(ledger entry {entry.get('seq')}, {entry.get('at')})")
    found = run_dir.name if copied else f"{run_dir.parent.name}/{run_dir.name}"
    sealed_as = str(entry.get("run_path") or "")
    if sealed_as and (sealed_as.rsplit("/", 1)[-1] if copied else sealed_as) != found:
        result.problems.append(f"MOVED run {manifest.get('run_id')}: sealed as {sealed_as}, found at {found}")
    if not copied and run_dir.parent.name != str(manifest.get("business_date")):
        result.problems.append(f"MISFILED run {manifest.get('run_id')}: business date {manifest.get('business_date')}, "
                               f"in the folder of {run_dir.parent.name}")
    return dict(entry.get("sealed") or sealed_files(manifest))


def _check_extra(run_dir: Path, manifest: dict, sealed: dict[str, str], result: Verification) -> None:
    known = {MANIFEST, MANIFEST_CHECKSUM, *COMPANIONS, *(key for key in sealed if ":" not in key), *sealed_files(manifest)}
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(run_dir).as_posix()
        if relative not in known:
            result.problems.append(f"EXTRA {relative}")


def head_problems(ledger: list[dict], expect_head: str | None) -> list[str]:
    """A head hash noted elsewhere must still be an entry of the ledger."""
    if not expect_head:
        return []
    if any(entry.get("hash") == expect_head.strip() for entry in ledger):
        return []
    return [f"LEDGER CUT OR REWRITTEN: no entry has the head hash {expect_head.strip()} noted earlier "
            f"(the ledger's head is now {ledger[-1].get('hash') if ledger else 'empty'})"]


def verify_run(run_dir: Path | str, *, public_key=None, roots: Roots = Roots(), ledger_file: Path | None = None,
               expect_head: str | None = None) -> Verification:
    """Every check of the module docstring, on a sealed run (``read_manifest`` raises when the
    folder has no manifest). ``ledger_file``: the archive's ledger when the run folder is not in
    its archive (default ``<reports>/ledger.jsonl``, two folders up); ``expect_head``: a head hash
    kept elsewhere earlier, which must still be an entry of the ledger (cut or rewritten entries
    after it are then caught, signed or not)."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    result = Verification()
    _check_checksum(run_dir, result)
    ledger_file = Path(ledger_file).resolve() if ledger_file else ledger_path(run_dir.parent.parent)
    ledger = read_ledger(ledger_file)
    sealed = _check_against_ledger(run_dir, manifest, ledger, ledger_file, result, copied=ledger_file != ledger_path(run_dir.parent.parent).resolve())
    _check_files(run_dir, manifest, sealed, roots, result)
    _check_extra(run_dir, manifest, sealed, result)
    if ledger:
        result.problems += log_problems(read_log(run_dir), ledger, str(manifest.get("run_id")))
        result.problems += page_problems(run_dir, ledger, str(manifest.get("run_id")))
    chain = check_chain(ledger, public_key)
    result.problems += chain.problems + head_problems(ledger, expect_head)
    result.ledger_entries, result.ledger_head, result.signed_entries = chain.entries, chain.head, chain.signed
    result.signatures_checked = public_key is not None
    return result


@dataclass
class Adoption:
    adopted: list[str] = field(default_factory=list)
    refused: dict[str, list[str]] = field(default_factory=dict)  # run path -> its problems


def _unanchored(problem: str) -> bool:
    return problem.startswith(("NOT IN LEDGER", "LEDGER MISSING", "MISSING signoffs.html"))


def _adoption_refusals(run_dir: Path) -> list[str]:
    """A run sealed with a ledger (manifest version 3 on) or already signed off was in a ledger: its
    entry is missing, not late; adoption would launder whatever happened to it."""
    manifest = read_manifest(run_dir)
    problems = []
    if int(manifest.get("manifest_version") or 0) >= 3:
        problems.append("sealed with the ledger (manifest version 3): its ledger entry is missing, restore the ledger")
    if (run_dir / SIGNOFF_LOG).exists():
        problems.append(f"it has a sign-off log ({SIGNOFF_LOG}): it was signed against a ledger, restore the ledger")
    return problems


def adopt_archive(report_root: Path | str) -> Adoption:
    """Enter every sealed run the ledger does not know (runs sealed before the ledger existed):
    a run that verifies against its own manifest gets a ``run`` entry marked ``adopted`` (the
    ledger vouches for it from that moment only) and its sign-off page; one that does not is refused
    with its problems. Rule: adoption never anchors a run that already fails verify."""
    from bo_lib.pipeline.archive import record_in_ledger
    from bo_lib.pipeline.journal import COMPLETE, run_folders
    from bo_lib.pipeline.signoff import write_signoff_page

    result = Adoption()
    for folder in reversed(run_folders(Path(report_root))):  # oldest first, as they were sealed
        if folder.state != COMPLETE:
            continue
        check = verify_run(folder.run_dir)
        if check.ledger_entry is not None:
            continue
        name = f"{folder.run_dir.parent.name}/{folder.run_dir.name}"
        problems = [problem for problem in check.problems if not _unanchored(problem)] + _adoption_refusals(folder.run_dir)
        if problems:
            result.refused[name] = problems
            continue
        manifest = read_manifest(folder.run_dir)
        if not (folder.run_dir / "signoffs.html").exists():
            write_signoff_page(folder.run_dir, manifest, [])
        record_in_ledger(folder.run_dir, manifest, adopted=True)
        result.adopted.append(name)
    return result
