"""The archive's ledger: tamper evidence that does not live inside a run.

``<reports>/ledger.jsonl`` is append-only, one JSON entry per line, each *hash-chained* to the one
before it. ``bo run`` appends an entry when it seals a run (``kind: run``: the manifest's SHA-256
and the hash of every file the run sealed or read), and ``bo signoff`` one per sign-off
(``kind: signoff``: the hash of the sign-off log's entry). ``bo verify`` checks a run against its
ledger entry, and the chain itself.

Rules:

* an entry's ``hash`` is the SHA-256 of its canonical JSON (keys sorted, no spaces) without the
  ``hash``, ``signature`` and ``key`` fields; its ``prev`` is the previous entry's ``hash`` (64
  zeros for the first). Rewriting an entry breaks its hash; rewriting it and its hash breaks the
  next entry's ``prev``. Rewriting the newest entries is caught by their signatures (unless the
  key is held too); cutting the newest entries off leaves a consistent, validly signed chain, caught
  only by a copy of a head hash kept elsewhere (``bo verify`` prints it, ``--expect-head`` checks it).
* when ``$BO_LEDGER_KEY`` names an Ed25519 private key (PEM, PKCS8; ``bo keygen`` writes one), each
  entry is signed: ``signature`` is the Ed25519 signature of the entry's ``hash`` (its 64 hex
  characters, ASCII), ``key`` the first 16 hex digits of the SHA-256 of the raw public key.
  ``bo verify --public-key`` then requires every entry to carry a good signature by that key.
* appends are serialized by an exclusive lock on the ledger file (``locked_ledger``: two runs of
  different dates can seal at once; a sign-off checks and appends under one lock).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from bo_lib.hashing import sha256_bytes
from bo_lib.pipeline.files import utc_iso, write_atomic, writing

LEDGER = "ledger.jsonl"
GENESIS = "0" * 64
KEY_VARIABLE = "BO_LEDGER_KEY"
_UNHASHED = ("hash", "signature", "key")


def canonical(entry: dict) -> bytes:
    """The bytes an entry's hash covers: canonical JSON of the entry without hash and signature."""
    body = {k: v for k, v in entry.items() if k not in _UNHASHED}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: dict) -> str:
    return sha256_bytes(canonical(entry))


def ledger_path(report_root: Path | str) -> Path:
    return Path(report_root) / LEDGER


# --------------------------------------------------------------------------------------------
# keys


def _crypto():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return serialization, ed25519


def generate_key_pair(private_path: Path | str, public_path: Path | str) -> str:
    """Write a new Ed25519 private key (PEM PKCS8, mode 0600) and its public key (PEM); returns the key id."""
    serialization, ed25519 = _crypto()
    private = ed25519.Ed25519PrivateKey.generate()
    private_path, public_path = Path(private_path), Path(public_path)
    for path in (private_path, public_path):
        if path.exists():
            raise ValueError(f"{path} exists: a key is never overwritten")
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_atomic(private_path, pem, mode=0o600)
    public = private.public_key()
    write_atomic(public_path, public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_id(public)


def key_id(public_key) -> str:
    serialization, _ = _crypto()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256_bytes(raw)[:16]


def load_private_key(path: Path | str):
    serialization, ed25519 = _crypto()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"${KEY_VARIABLE}: no key file at {path}")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"${KEY_VARIABLE}: {path} is not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValueError(f"${KEY_VARIABLE}: {path} is not an Ed25519 key")
    return key


def load_public_key(path: Path | str):
    serialization, ed25519 = _crypto()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--public-key: no key file at {path}")
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except ValueError as exc:
        raise ValueError(f"--public-key: {path} is not a PEM public key ({exc})") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ValueError(f"--public-key: {path} is not an Ed25519 public key")
    return key


def configured_signing_key():
    """The private key ``$BO_LEDGER_KEY`` names, or None when the ledger is not signed."""
    path = os.environ.get(KEY_VARIABLE)
    return load_private_key(path) if path else None


# --------------------------------------------------------------------------------------------
# reading and appending


def read_ledger(path: Path | str) -> list[dict]:
    """Every entry of the ledger file ``path`` (``ledger_path``), in order (``read_chain``)."""
    return read_chain(path)


def read_chain(path: Path | str) -> list[dict]:
    """Every entry of a hash-chained JSON-lines file (the ledger, a run's sign-off log), in order; a
    line that is no JSON object is kept as ``{"unreadable": text, "line": n}`` for ``chain_breaks``."""
    path = Path(path)
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except ValueError:
            entry = {"unreadable": line[:80], "line": number}
        entries.append(entry)
    return entries


def _last_entry(handle, chunk: int = 1 << 16) -> dict | None:
    """The ledger's last entry, read from the end of the file (a ledger of years is not read whole
    for each append)."""
    handle.seek(0, os.SEEK_END)
    end = position = handle.tell()
    tail = b""
    while position > 0 and tail.rstrip(b"\n").count(b"\n") < 1:
        position = max(0, position - chunk)
        handle.seek(position)
        tail = handle.read(end - position)
    lines = [line for line in tail.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        last = json.loads(lines[-1])
        int(last["seq"]), str(last["hash"])
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{handle.name}: its last line is not a ledger entry; nothing appended (bo ledger checks the chain)") from None
    return last


class LockedLedger:
    """The ledger file held under an exclusive lock: read it whole, append to it. Everything that
    must see the ledger unchanged between a check and an append (sealing a run, a sign-off) does
    both under one lock."""

    def __init__(self, handle, path: Path, signing_key):
        self._handle, self.path, self._key = handle, path, signing_key

    def entries(self) -> list[dict]:
        return read_ledger(self.path)

    def append(self, entry: dict) -> dict:
        """Append ``entry`` with its ``seq``, ``at``, ``prev`` and ``hash`` (and signature) filled in."""
        handle = self._handle
        last = _last_entry(handle)
        written = {"seq": last["seq"] + 1 if last else 1, "at": utc_iso(dt.datetime.now(dt.timezone.utc)),
                   **entry, "prev": last.get("hash", GENESIS) if last else GENESIS}
        written["hash"] = entry_hash(written)
        if self._key is not None:
            written["signature"] = base64.b64encode(self._key.sign(written["hash"].encode("ascii"))).decode("ascii")
            written["key"] = key_id(self._key.public_key())
        handle.seek(0, os.SEEK_END)
        handle.write((json.dumps(written, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
        return written


@contextlib.contextmanager
def locked_ledger(report_root: Path | str, signing_key=None) -> Iterator[LockedLedger]:
    """The archive's ledger under an exclusive lock (``flock``) for the block: other sealing runs and
    sign-offs wait. Entries are signed with ``signing_key``, else the key ``$BO_LEDGER_KEY`` names."""
    path = ledger_path(report_root)
    key = signing_key if signing_key is not None else configured_signing_key()
    with writing(path), open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield LockedLedger(handle, path, key)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def append_entry(report_root: Path | str, entry: dict, signing_key=None) -> dict:
    """Append one entry under the lock; returns the entry as written."""
    with locked_ledger(report_root, signing_key) as ledger:
        return ledger.append(entry)


# --------------------------------------------------------------------------------------------
# checking


@dataclass
class ChainCheck:
    problems: list[str] = field(default_factory=list)
    entries: int = 0
    signed: int = 0
    head: str = GENESIS


def chain_breaks(entries: list[dict]) -> list[tuple[int, str]]:
    """Where a hash chain (the ledger, a run's sign-off log) is broken: (position, why) for each
    entry that is unreadable, out of sequence, not matching its own hash or not linked to the entry
    before. The one rule both chains follow."""
    breaks, previous = [], GENESIS
    for position, entry in enumerate(entries, start=1):
        if "unreadable" in entry:
            breaks.append((position, f"line {entry['line']} is not an entry ({entry['unreadable']!r})"))
            previous = ""
            continue
        if entry.get("seq") != position:
            breaks.append((position, f"sequence {entry.get('seq')} where {position} was due (an entry removed or inserted)"))
        if entry.get("hash") != entry_hash(entry):
            breaks.append((position, "its content does not match its hash (rewritten)"))
        if entry.get("prev") != previous:
            breaks.append((position, "does not chain to the entry before it"))
        previous = entry.get("hash", "")
    return breaks


def _label(entry: dict, position: int) -> str:
    """An entry named by its sequence number, or by its line when it has none."""
    seq = entry.get("seq") if "unreadable" not in entry else None
    return str(seq) if isinstance(seq, int) else f"at line {position}"


def check_chain(entries: list[dict], public_key=None) -> ChainCheck:
    """Every entry's hash recomputed and linked to the one before (``chain_breaks``); with
    ``public_key``, every signature checked (an unsigned entry is a problem then)."""
    result = ChainCheck(entries=len(entries))
    result.problems = [f"LEDGER BROKEN entry {_label(entries[position - 1], position)}: {why}" for position, why in chain_breaks(entries)]
    for position, entry in enumerate(entries, start=1):
        result.signed += "signature" in entry
        problem = _signature_problem(entry, public_key) if public_key is not None and "unreadable" not in entry else ""
        if problem:
            result.problems.append(f"SIGNATURE entry {_label(entry, position)}: {problem}")
    result.head = entries[-1].get("hash", GENESIS) if entries else GENESIS
    return result


def _signature_problem(entry: dict, public_key) -> str:
    from cryptography.exceptions import InvalidSignature

    if "signature" not in entry:
        return "unsigned"
    if entry.get("key") != key_id(public_key):
        return f"signed by key {entry.get('key')}, not by the public key given ({key_id(public_key)})"
    try:
        public_key.verify(base64.b64decode(entry["signature"]), str(entry.get("hash", "")).encode("ascii"))
    except (InvalidSignature, ValueError):
        return "bad signature"
    return ""


def run_entries(entries: list[dict], run_id: str, kind: str) -> list[dict]:
    return [entry for entry in entries if entry.get("kind") == kind and entry.get("run_id") == run_id]

